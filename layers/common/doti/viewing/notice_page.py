"""The public notice page of a site, /p/{public_id} (issue 15 point 2, Art. 2-4): server-rendered for a phone, in
Japanese and English, no script, every stored text escaped.

Its policy allows the one inline stylesheet by its hash and nothing else (`default-src 'none'`): no script, no image,
no frame around it; forms may post only to the page's own origin (`form-action 'self'`), for the request form that
comes with point 4 and will be one more section (`<section id="requests">` holds how to make a request today). An
unknown id and a contract that does not serve get one and the same plain 404 page.
"""

from __future__ import annotations

from html import escape

from doti.contracts import purposes
from doti.csp import style_source
from doti.viewing.notice import CameraNotice, SiteNotice
from doti.viewing.share_page import Page

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


def _bilingual(ja: str, en: str) -> str:
    return f'{escape(ja)} / <span lang="en">{escape(en)}</span>'


def _paragraphs(ja: str, en: str) -> str:
    return f'<p>{escape(ja)}</p><p lang="en">{escape(en)}</p>'


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>{body}</main></body></html>"
    )


def _purpose_label(code: str, other_text: str | None) -> str:
    label = purposes.LABELS[code]
    if code == purposes.OTHER and other_text:
        return _bilingual(f"{label['ja']}: {other_text}", f"{label['en']}: {other_text}")
    return _bilingual(label["ja"], label["en"])


def _people_filmed(value: bool | None) -> str:
    if value is None:
        return _bilingual("未登録", "Not stated")
    return _bilingual("撮影されます", "Yes") if value else _bilingual("撮影されません", "No")


def _camera(camera: CameraNotice) -> str:
    head = f"<h3>{escape(camera.name)}</h3>"
    if not camera.registered:
        missing = _bilingual(
            "このカメラの利用目的と撮影範囲は、まだ登録されていません。",
            "The purposes and coverage of this camera have not been registered yet.",
        )
        return f"<li>{head}<p>{missing}</p></li>"
    if camera.purposes:
        chosen = "<ul>" + "".join(f"<li>{_purpose_label(c, camera.other_text)}</li>" for c in camera.purposes)
        chosen += "</ul>"
    else:
        chosen = _bilingual("未登録", "Not registered")
    coverage = escape(camera.coverage) if camera.coverage else _bilingual("未登録", "Not registered")
    rows = [
        (_bilingual("利用目的", "Purposes"), chosen),
        (_bilingual("撮影範囲", "What it covers"), coverage),
        (_bilingual("人物の撮影", "People filmed"), _people_filmed(camera.people_filmed)),
    ]
    facts = "".join(f"<dt>{term}</dt><dd>{value}</dd>" for term, value in rows)
    return f"<li>{head}<dl>{facts}</dl></li>"


def _cameras(notice: SiteNotice) -> str:
    section = f"<section><h2>{_bilingual('カメラと利用目的', 'Cameras and their purposes')}</h2>"
    if not notice.cameras:
        return section + f"<p>{_bilingual('カメラは登録されていません。', 'No camera is registered.')}</p></section>"
    return section + '<ul class="cameras">' + "".join(_camera(c) for c in notice.cameras) + "</ul></section>"


def _retention(notice: SiteNotice) -> str:
    days = notice.retention_days
    text = _paragraphs(
        f"映像は撮影から{days}日間保存され、その後自動的に削除されます。",
        f"Footage is kept for {days} day{'' if days == 1 else 's'} after it is recorded, then deleted automatically.",
    )
    return f"<section><h2>{_bilingual('保存期間', 'How long footage is kept')}</h2>{text}</section>"


def _sharing() -> str:
    body = _paragraphs(*_SHARING) + _paragraphs(*_THIRD_PARTY)
    return f"<section><h2>{_bilingual('映像の共有と第三者提供', 'Sharing and third parties')}</h2>{body}</section>"


def _contact(notice: SiteNotice) -> str:
    heading = f"<h2>{_bilingual('お問い合わせ先', 'Contact')}</h2>"
    if notice.inquiry_contact:
        return f'<section>{heading}<p class="contact">{escape(notice.inquiry_contact)}</p></section>'
    missing = _paragraphs(
        "お問い合わせ先はまだ登録されていません。店舗の係員にお尋ねください。",
        "No contact has been registered yet. Please ask the staff on site.",
    )
    return f"<section>{heading}{missing}</section>"


def _requests() -> str:
    """How a person filmed makes a request. Today by the contact above; point 4's form becomes part of this section."""
    body = _paragraphs(
        "ご自身が映った映像の開示、利用の停止・削除のご請求、その他のご質問は、上記のお問い合わせ先までご連絡"
        "ください。撮影されたおおよその日時と場所やカメラをお知らせいただくと、確認が早くなります。",
        "To ask for footage of you to be disclosed, to have its use stopped or to have it deleted, or with any other "
        "question, use the contact above. Telling roughly when and where (which camera) you were filmed helps us "
        "find it.",
    )
    heading = _bilingual("ご本人からのご請求", "Requests about footage of you")
    return f'<section id="requests"><h2>{heading}</h2>{body}</section>'


def notice_page(notice: SiteNotice) -> Page:
    heading = f"<h1>{_bilingual('カメラを設置しています', 'Cameras are in operation here')}</h1>"
    heading += f'<p class="site">{escape(notice.site_name)}</p>'
    operator = f'<p>{_bilingual("運営者", "Operator")}: <strong class="operator">{escape(notice.operator)}</strong></p>'
    body = heading + operator + _cameras(notice) + _retention(notice) + _sharing() + _contact(notice) + _requests()
    return Page(200, _document(_TITLE, body), POLICY)


def not_found_page() -> Page:
    """One page for an unknown id and for a contract that does not serve: it names nothing and no reason."""
    body = f"<h1>{_bilingual('ページが見つかりません', 'Page not found')}</h1>" + _paragraphs(
        "このページは存在しないか、現在公開されていません。", "This page does not exist or is not available now."
    )
    return Page(404, _document(_NOT_FOUND_TITLE, body), POLICY)
