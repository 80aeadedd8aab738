"""The status page of a request from a person filmed, /r/{request_id}.{secret} (issue 15 point 4), and the plain
pages the request form answers with when it cannot take the form at all. Same look and policy as the notice page:
server-rendered, Japanese and English, no script; it shows the request's state and answers, nothing else."""

from __future__ import annotations

from datetime import datetime
from html import escape

from doti.clock import format_rfc3339
from doti.subjects import requests as subject_requests
from doti.subjects.requests import JST, RequestStatus, StatusAnswer
from doti.viewing.notice_page import POLICY, bilingual, document, paragraphs
from doti.viewing.share_page import Page

_TITLE = "ご請求の状況 / Your request"
# what became of a disclosure's one-time link, when it cannot be opened any more (doti.viewing.shares states)
_LINK_STATES = {
    "used": ("開示リンクはすでに使用されました(1回限り)。", "The disclosure link has been used (it opens once)."),
    "revoked": ("開示リンクは取り消されました。", "The disclosure link was withdrawn."),
    "expired": ("開示リンクの期限が切れました。", "The disclosure link has expired."),
}


def _time(moment: datetime) -> str:
    local = moment.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")
    return f'<time datetime="{format_rfc3339(moment)}">{local}</time>'


def _label(labels: dict[str, dict[str, str]], code: str) -> str:
    label = labels.get(code, {"ja": code, "en": code})
    return bilingual(label["ja"], label["en"])


def _answer(answer: StatusAnswer) -> str:
    if answer.frames_deleted is not None:
        title = bilingual(subject_requests.DELETED_LABEL["ja"], subject_requests.DELETED_LABEL["en"])
    else:
        title = _label(subject_requests.ACTION_LABELS, answer.action)
    parts = [f"<h3>{title}</h3><p>{_time(answer.at)}</p>"]
    if answer.text:
        parts.append(f'<p class="answer-text">{escape(answer.text)}</p>')
    if answer.frames_deleted is not None:
        count = answer.frames_deleted
        parts.append(paragraphs(f"削除した画像: {count}枚", f"Frames deleted: {count}"))
    if answer.link and answer.link_expires_at:
        until = _time(answer.link_expires_at)
        parts.append(
            f'<p><a class="disclosure-link" href="{escape(answer.link)}">'
            f"{bilingual('開示された映像を見る(1回限り)', 'See the disclosed footage (opens once)')}</a></p>"
            f"<p>{bilingual('リンクの期限', 'The link works until')}: {until}</p>"
        )
    elif answer.link_state is not None:
        parts.append(paragraphs(*_LINK_STATES.get(answer.link_state, _LINK_STATES["expired"])))
    return "<li>" + "".join(parts) + "</li>"


def status_page(status: RequestStatus) -> Page:
    rows = [
        (bilingual("受付番号", "Reference"), f'<span class="reference">{escape(status.request_id)}</span>'),
        (bilingual("ご請求の種類", "What you asked for"), _label(subject_requests.KINDS, status.kind)),
        (bilingual("受付日時", "Received"), _time(status.created_at)),
        (bilingual("回答期限", "Answer due by"), _time(status.due_at)),
        (
            bilingual("状況", "Status"),
            f'<span class="status">{_label(subject_requests.STATUS_LABELS, status.status)}</span>',
        ),
    ]
    facts = "<dl>" + "".join(f"<dt>{term}</dt><dd>{value}</dd>" for term, value in rows) + "</dl>"
    if status.answers:
        answers = '<ul class="cameras" id="answers">' + "".join(_answer(a) for a in status.answers) + "</ul>"
    else:
        answers = paragraphs("まだ回答はありません。", "There is no answer yet.")
    keep = paragraphs(
        "このページのアドレスを知っている人は誰でも、ご請求の状況と回答を見ることができます。他の人に知らせないでください。",
        "Whoever has this page's address can see the request's status and answers: do not share it.",
    )
    body = (
        f"<h1>{bilingual('ご請求の状況', 'Your request')}</h1>{facts}"
        f"<section><h2>{bilingual('回答', 'Answers')}</h2>{answers}</section>{keep}"
    )
    return Page(200, document(_TITLE, body), POLICY)


def refusal_page(status: int, ja: str, en: str) -> Page:
    """A form that could not be taken at all (another site's form, an expired form, too large): what to do."""
    body = f"<h1>{bilingual('送信できませんでした', 'Your request was not sent')}</h1>" + paragraphs(ja, en)
    return Page(status, document("送信できませんでした / Not sent", body), POLICY)
