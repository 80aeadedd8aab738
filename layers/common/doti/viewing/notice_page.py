"""The public notice page of a site, /p/{public_id} (issue 15 point 2, Art. 2-4): server-rendered for a phone, in
Japanese and English, no script, every stored text escaped.

Its policy allows the one inline stylesheet by its hash and nothing else (`default-src 'none'`): no script, no image,
no frame around it; forms may post only to the page's own origin (`form-action 'self'`), for the request form that
is `<section id="requests">`, which POSTs to /p/{public_id}/requests with the page's form token). An
unknown id and a contract that does not serve get one and the same plain 404 page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from doti.contracts import purposes
from doti.csp import style_source
from doti.subjects import requests as subject_requests
from doti.subjects.requests import Problem
from doti.viewing.notice import CameraNotice, SiteNotice
from doti.viewing.share_page import NO_REFERRER, SAME_ORIGIN, Page

_CSS = (
    ":root{color-scheme:light dark}"
    "body{margin:0 auto;max-width:720px;padding:16px;"
    'font:16px/1.6 system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif}'
    "h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem;border-bottom:1px solid}"
    "h3{font-size:1rem;margin:.75rem 0 .25rem}"
    ".site{margin:0 0 1rem;font-weight:600}"
    "ul{padding-left:1.25rem;margin:.25rem 0}"
    ".cameras{list-style:none;padding:0}.cameras>li{border:1px solid;border-radius:6px;padding:.5rem .75rem;"
    "margin:0 0 .75rem}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem .75rem;margin:0}"
    "dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}"
    "@media (max-width:30rem){dl{grid-template-columns:1fr;gap:0}dd{margin:0 0 .5rem}}"
    "p{overflow-wrap:anywhere}.contact{font-size:1.1rem;font-weight:600}"
    # the request form (doti.subjects): one column, big targets, problems next to their fields
    "form{display:grid;gap:1rem;margin:1rem 0}fieldset{border:1px solid;border-radius:6px;padding:.5rem .75rem}"
    "label{display:block;font-weight:600}.choice{font-weight:400;display:flex;gap:.5rem;align-items:center}"
    "input,select,textarea,button{font:inherit;box-sizing:border-box;max-width:100%}"
    "input[type=text],input[type=datetime-local],select,textarea{display:block;width:100%;padding:.5rem;"
    "margin:.25rem 0 0}"
    "textarea{min-height:8rem}button{padding:.75rem 1.25rem;border-radius:6px;border:1px solid;font-weight:600}"
    ".hint{font-size:.9rem;margin:.25rem 0 0}.problem{color:#b00020;font-weight:600;margin:.25rem 0 0}"
    "@media (prefers-color-scheme:dark){.problem{color:#ff8a80}}"
    ".problems{border:2px solid #b00020;border-radius:6px;padding:.5rem .75rem}"
    ".trap{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}"
    ".status{font-size:1.2rem;font-weight:700}.reference{font-family:monospace;font-size:1.1rem}"
)
POLICY = (
    f"default-src 'none'; style-src {style_source(_CSS)}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_TITLE = "カメラの設置と映像の取り扱いについて / About the cameras here and their footage"
_NOT_FOUND_TITLE = "ページが見つかりません / Page not found"

# Art. 10-3 of the service terms: the provider gives the footage to no third party without the operator's consent,
# except on these grounds (its items 1-5), as the page tells the public.
_THIRD_PARTY = (
    "撮影された映像は、運営者の同意なく第三者に提供されることはありません。例外は、サービス利用規約第10条第3項が"
    "定める次の場合に限られます: 法令に基づく場合、人の生命・身体・財産の保護のために必要で同意を得ることが"
    "困難な場合、公衆衛生の向上や児童の健全な育成のために特に必要で同意を得ることが困難な場合、国の機関や"
    "地方公共団体の法令上の事務に協力する必要がある場合、事業の承継にともなう場合。",
    "The footage is not given to third parties without the operator's consent, except in the cases Art. 10-3 of "
    "the service terms allows: when required by law; when needed to protect a person's life, body or property and "
    "consent is hard to obtain; when especially needed for public health or children's welfare and consent is hard "
    "to obtain; to cooperate with a government body carrying out its legal duties; or on a succession of the "
    "business.",
)
_SHARING = (
    "映像は、上記の利用目的の範囲でのみ、期限付きの共有リンクにより必要な相手に共有されることがあります。"
    "共有リンクは目的を記録し、期限が切れると開けなくなります。",
    "Footage may be shared only for the purposes above, through expiring share links to those who need it; each "
    "link records its purpose and stops working when it expires.",
)


def bilingual(ja: str, en: str) -> str:
    return f'{escape(ja)} / <span lang="en">{escape(en)}</span>'


def paragraphs(ja: str, en: str) -> str:
    return f'<p>{escape(ja)}</p><p lang="en">{escape(en)}</p>'


def document(title: str, body: str, *, referrer: str = NO_REFERRER) -> str:
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="{referrer}">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>{body}</main></body></html>"
    )


def _purpose_label(code: str, other_text: str | None) -> str:
    label = purposes.LABELS[code]
    if code == purposes.OTHER and other_text:
        return bilingual(f"{label['ja']}: {other_text}", f"{label['en']}: {other_text}")
    return bilingual(label["ja"], label["en"])


def _people_filmed(value: bool | None) -> str:
    if value is None:
        return bilingual("未登録", "Not stated")
    return bilingual("撮影されます", "Yes") if value else bilingual("撮影されません", "No")


def _camera(camera: CameraNotice) -> str:
    head = f"<h3>{escape(camera.name)}</h3>"
    if not camera.registered:
        missing = bilingual(
            "このカメラの利用目的と撮影範囲は、まだ登録されていません。",
            "The purposes and coverage of this camera have not been registered yet.",
        )
        return f"<li>{head}<p>{missing}</p></li>"
    if camera.purposes:
        chosen = "<ul>" + "".join(f"<li>{_purpose_label(c, camera.other_text)}</li>" for c in camera.purposes)
        chosen += "</ul>"
    else:
        chosen = bilingual("未登録", "Not registered")
    coverage = escape(camera.coverage) if camera.coverage else bilingual("未登録", "Not registered")
    rows = [
        (bilingual("利用目的", "Purposes"), chosen),
        (bilingual("撮影範囲", "What it covers"), coverage),
        (bilingual("人物の撮影", "People filmed"), _people_filmed(camera.people_filmed)),
    ]
    facts = "".join(f"<dt>{term}</dt><dd>{value}</dd>" for term, value in rows)
    return f"<li>{head}<dl>{facts}</dl></li>"


def _cameras(notice: SiteNotice) -> str:
    section = f"<section><h2>{bilingual('カメラと利用目的', 'Cameras and their purposes')}</h2>"
    if not notice.cameras:
        return section + f"<p>{bilingual('カメラは登録されていません。', 'No camera is registered.')}</p></section>"
    return section + '<ul class="cameras">' + "".join(_camera(c) for c in notice.cameras) + "</ul></section>"


def _retention(notice: SiteNotice) -> str:
    days = notice.retention_days
    text = paragraphs(
        f"映像は撮影から{days}日間保存され、その後自動的に削除されます。",
        f"Footage is kept for {days} day{'' if days == 1 else 's'} after it is recorded, then deleted automatically.",
    )
    return f"<section><h2>{bilingual('保存期間', 'How long footage is kept')}</h2>{text}</section>"


def _sharing() -> str:
    body = paragraphs(*_SHARING) + paragraphs(*_THIRD_PARTY)
    return f"<section><h2>{bilingual('映像の共有と第三者提供', 'Sharing and third parties')}</h2>{body}</section>"


def _contact(notice: SiteNotice) -> str:
    heading = f"<h2>{bilingual('お問い合わせ先', 'Contact')}</h2>"
    if notice.inquiry_contact:
        return f'<section>{heading}<p class="contact">{escape(notice.inquiry_contact)}</p></section>'
    missing = paragraphs(
        "お問い合わせ先はまだ登録されていません。店舗の係員にお尋ねください。",
        "No contact has been registered yet. Please ask the staff on site.",
    )
    return f"<section>{heading}{missing}</section>"


def _requests(notice: SiteNotice, form: RequestForm) -> str:
    """How a person filmed makes a request: the form (no script; doti.subjects.requests checks it), or the contact."""
    intro = paragraphs(
        "ご自身が映った映像の開示、利用の停止・削除のご請求、その他のご質問は、このフォームから送信できます。"
        "送信後に受付番号と状況確認用のリンクが表示されます。リンクは他の人に知られないよう保管してください。",
        "You can ask here for footage of you to be disclosed, to have its use stopped or to have it deleted, or ask a "
        "question. After sending you get a reference and a link to follow your request: keep the link to yourself.",
    )
    heading = bilingual("ご本人からのご請求", "Requests about footage of you")
    return f'<section id="requests"><h2>{heading}</h2>{intro}{request_form(notice, form)}</section>'


@dataclass(frozen=True)
class RequestForm:
    """The request form's state: its token (also in the page's cookie), and after a refusal what was sent (never the
    honeypot) and the problems, each with the field it is about ("" for the form as a whole)."""

    token: str
    values: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()


# the form's fields as the summary of problems names them (the first link of each goes to the field)
_FIELD_LABELS = {
    "kind": ("ご請求の種類", "What you ask for", "req-kind-disclosure"),
    "camera_id": ("カメラ", "Camera", "req-camera"),
    "from": ("開始日時", "From", "req-from"),
    "to": ("終了日時", "To", "req-to"),
    "contact": ("ご連絡先", "How to reach you", "req-contact"),
    "text": ("ご請求の内容", "What you ask", "req-text"),
}


def _summary_item(problem: Problem) -> str:
    label = _FIELD_LABELS.get(problem.field)
    if label is None:
        return f"<li>{bilingual(problem.ja, problem.en)}</li>"
    ja, en, target = label
    return f'<li><a href="#{target}">{bilingual(f"{ja}: {problem.ja}", f"{en}: {problem.en}")}</a></li>'


def _problem_ids(form: RequestForm, name: str) -> tuple[str, str]:
    """The field's error paragraph and its aria attributes, when the field has a problem."""
    found = [p for p in form.problems if p.field == name]
    if not found:
        return "", ""
    text = "".join(f'<p class="problem" id="{name}-problem">{bilingual(p.ja, p.en)}</p>' for p in found[:1])
    return text, f' aria-invalid="true" aria-describedby="{name}-problem"'


def _input(form: RequestForm, name: str, label: str, kind: str, extra: str = "") -> str:
    problem, aria = _problem_ids(form, name)
    value = escape(form.values.get(name, ""))
    return (
        f'<div><label for="req-{name}">{label}</label>'
        f'<input type="{kind}" id="req-{name}" name="{name}" value="{value}"{extra}{aria}>{problem}</div>'
    )


def request_form(notice: SiteNotice, form: RequestForm) -> str:
    """The form, posted to this page's own address + /requests (`form-action 'self'`), no script."""
    values = form.values
    summary = ""
    if form.problems:
        items = "".join(_summary_item(p) for p in form.problems)
        head = bilingual("送信できませんでした。次の点をご確認ください。", "Your request was not sent. Please check:")
        summary = f'<div class="problems" id="form-problems"><p><strong>{head}</strong></p><ul>{items}</ul></div>'
    kind_problem, kind_aria = _problem_ids(form, "kind")
    kinds = "".join(
        f'<label class="choice"><input type="radio" id="req-kind-{code}" name="kind" value="{code}"'
        f"{' checked' if values.get('kind') == code else ''}{kind_aria}> {bilingual(label['ja'], label['en'])}</label>"
        for code, label in subject_requests.KINDS.items()
    )
    camera_problem, camera_aria = _problem_ids(form, "camera_id")
    # an option holds text only, so both languages in one line
    options = '<option value="">わからない(任意) / Not sure (optional)</option>'
    for camera in notice.cameras:
        chosen = " selected" if values.get("camera_id") == camera.ref else ""
        options += f'<option value="{escape(camera.ref)}"{chosen}>{escape(camera.name)}</option>'
    text = escape(values.get("text", ""))
    text_problem, text_aria = _problem_ids(form, "text")
    limit = subject_requests.MAX_TEXT
    window_hint = bilingual(
        f"日本時間。24時間以内の範囲で、保存期間({notice.retention_days}日)内の日時を指定してください。",
        f"Japan time; a window of at most 24 hours within the last {notice.retention_days} days.",
    )
    return (
        f'{summary}<form method="post" action="/p/{escape(notice.public_id)}/requests">'
        f'<input type="hidden" name="form_token" value="{escape(form.token)}">'
        f"<fieldset><legend>{bilingual('ご請求の種類', 'What you ask for')}</legend>{kinds}{kind_problem}</fieldset>"
        f'<div><label for="req-camera">{bilingual("映ったカメラ", "The camera that filmed you")}</label>'
        f'<select id="req-camera" name="camera_id"{camera_aria}>{options}</select>{camera_problem}</div>'
        f"<fieldset><legend>{bilingual('撮影されたおおよその日時', 'Roughly when you were filmed')}</legend>"
        + _input(form, "from", bilingual("開始", "From"), "datetime-local")
        + _input(form, "to", bilingual("終了", "To"), "datetime-local")
        + f'<p class="hint">{window_hint}</p></fieldset>'
        + _input(
            form,
            "contact",
            bilingual("ご連絡先(メールアドレスまたは電話番号)", "How to reach you (e-mail or phone)"),
            "text",
            f' maxlength="{subject_requests.MAX_CONTACT}" autocomplete="email"',
        )
        + f'<div><label for="req-text">{bilingual("ご請求の内容", "What you ask")}</label>'
        f'<textarea id="req-text" name="text" maxlength="{limit}"{text_aria}>{text}</textarea>'
        f'<p class="hint">{bilingual(f"{limit}文字以内", f"Up to {limit} characters")}</p>{text_problem}</div>'
        f'<div class="trap"><label for="req-website">{bilingual("この欄は空のままにしてください", "Leave this empty")}'
        f'</label><input type="text" id="req-website" name="website" tabindex="-1" autocomplete="off"></div>'
        f'<div><button type="submit">{bilingual("送信する", "Send")}</button></div></form>'
    )


def notice_page(notice: SiteNotice, form: RequestForm | None = None, status: int = 200) -> Page:
    """The page; `form` carries the form's token and, when the form was refused, what was sent and its problems."""
    form = form or RequestForm(token="")
    heading = f"<h1>{bilingual('カメラを設置しています', 'Cameras are in operation here')}</h1>"
    heading += f'<p class="site">{escape(notice.site_name)}</p>'
    operator = f'<p>{bilingual("運営者", "Operator")}: <strong class="operator">{escape(notice.operator)}</strong></p>'
    body = (
        heading
        + operator
        + _cameras(notice)
        + _retention(notice)
        + _sharing()
        + _contact(notice)
        + _requests(notice, form)
    )
    # The request form's POST must carry the page's origin (doti.public_forms refuses another site's): under
    # no-referrer a browser sends `Origin: null` instead, so this page alone sends its referrer, to itself only.
    return Page(status, document(_TITLE, body, referrer=SAME_ORIGIN), POLICY, referrer_policy=SAME_ORIGIN)


def not_found_page() -> Page:
    """One page for an unknown id and for a contract that does not serve: it names nothing and no reason."""
    body = f"<h1>{bilingual('ページが見つかりません', 'Page not found')}</h1>" + paragraphs(
        "このページは存在しないか、現在公開されていません。", "This page does not exist or is not available now."
    )
    return Page(404, document(_NOT_FOUND_TITLE, body), POLICY)
