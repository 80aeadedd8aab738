"""The HTML page a share link opens (SPEC §6): server-rendered for a phone, no script, every text escaped.

The only stylesheet is inline and allowed by its hash, images (and, on a clip's page, the clip) only from the origin
of the signed URLs of this very view, and nothing else (`default-src 'none'`). Refusals get a page of their own that
says plainly, in Japanese and English, why nothing is shown.

A one-time link opens on an interstitial (doti.viewing.shares.ShareInterstitial): the purpose and one button, a plain
same-origin form (`form-action 'self'`, no script) whose POST shows the frame and spends the link, so that a chat
app's link preview, which only GETs, never spends it. No page carries footage in its OpenGraph tags: every page has the
same neutral og:title and og:description, and no og:image.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from urllib.parse import quote, urlsplit

from doti.clock import format_rfc3339
from doti.csp import style_source
from doti.viewing import shares
from doti.viewing.frames import SignedFrame

_CLIP = "video/mp4"  # doti.ingest.video.MP4; that module needs OpenCV, which the viewer function does not carry
_JST = timezone(timedelta(hours=9), "JST")  # the service's customers are in Japan; UTC stays in <time datetime>

_CSS = (
    ":root{color-scheme:light dark}"
    "body{margin:0 auto;max-width:960px;padding:16px;"
    'font:16px/1.5 system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif}'
    "h1{font-size:1.25rem;margin:0 0 .75rem}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem .75rem;margin:0 0 1rem}"
    "dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}"
    # A narrow phone stacks each label over its value rather than squeeze the value into a sliver.
    "@media (max-width:30rem){dl{grid-template-columns:1fr;gap:0}dd{margin:0 0 .5rem}}"
    # A time value never breaks inside itself (a date on one line, its hour on the next).
    "time{white-space:nowrap}"
    ".frames{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;list-style:none;padding:0}"
    # Shrunk to fit, never stretched past the natural size its width and height attributes give.
    "figure{margin:0}img,video{display:block;max-width:100%;height:auto;border-radius:4px}"
    "figcaption{font-size:.8rem}.note{font-size:.9rem;opacity:.8}"
    ".more,button{display:inline-block;margin:1rem 0;padding:.75rem 1.25rem;border:1px solid;border-radius:6px}"
    "button{font:inherit;font-weight:600;cursor:pointer;min-height:44px}"
)
_BASE_POLICY = f"default-src 'none'; style-src {style_source(_CSS)}; base-uri 'none'"
# What a link preview (og:, and the <title> some bots read) may say of any share page: nothing of the footage.
_PREVIEW_TITLE = "共有された映像 / Shared footage"
_PREVIEW_DESCRIPTION = "防犯カメラの映像の共有リンク / A link to shared security camera footage"
# The interstitial's button posts to the page's own address: its policy lets the POST carry the page's origin, which
# no-referrer would turn into `Origin: null`. Every other page sends no referrer at all.
NO_REFERRER, SAME_ORIGIN = "no-referrer", "same-origin"

# reason -> (Japanese, English)
EXPLANATIONS: dict[str, tuple[str, str]] = {
    shares.UNKNOWN: (
        "このリンクは見つかりません。アドレスが途中で切れていないか確認してください。",
        "This link does not exist. Check that the whole address was copied.",
    ),
    shares.EXPIRED: (
        "このリンクは有効期限が切れています。共有した方に新しいリンクを依頼してください。",
        "This link has expired. Ask the person who shared it for a new one.",
    ),
    shares.REVOKED: (
        "このリンクは共有した方によって取り消されました。",
        "The person who shared this link has withdrawn it.",
    ),
    shares.USED: (
        "このリンクは一度だけ開ける設定で、すでに開かれています。",
        "This link could be opened only once, and it has already been opened.",
    ),
    shares.GONE: (
        "このリンクの映像は保存期間を過ぎたか削除されたため、表示できません。",
        "The footage of this link is no longer kept: its retention period has passed, or it was removed.",
    ),
    shares.SUSPENDED: (
        "このリンクを提供しているサービスは現在停止中のため、映像を表示できません。",
        "The service behind this link is suspended at the moment, so its footage cannot be shown.",
    ),
    shares.ENDED: (
        "このリンクを提供していたサービスの契約が終了したため、映像は共有されていません。",
        "The contract behind this link has ended; its footage is no longer shared.",
    ),
    shares.FOREIGN_FORM: (
        "このボタンは、リンクのページ以外から押されたため受け付けられません。リンクを開き直してください。",
        "The button was pressed from a page other than the link's own, so it was not accepted. Open the link again.",
    ),
    shares.BAD_PAGE: (
        "このページのアドレスが正しくありません。リンクを最初から開き直してください。",
        "This page address is not valid. Open the link again from its beginning.",
    ),
}


@dataclass(frozen=True)
class Page:
    status: int
    html: str
    content_security_policy: str
    referrer_policy: str = NO_REFERRER

    def headers(self) -> dict[str, str]:
        return {
            "Content-Security-Policy": self.content_security_policy,
            "Cache-Control": "no-store",
            "Referrer-Policy": self.referrer_policy,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "X-Robots-Tag": "noindex, nofollow",
        }


def _policy(image_origin: str | None, *, media: bool = False, form: bool = False, thumbnails: str = "") -> str:
    """`media` lets a <video> load from the same origin as the images (its poster is an image); `form` lets the
    page's one form post to its own origin (the interstitial's button), and no page may post anywhere else;
    `thumbnails` is the origin of the thumbnail renderer's links, when the page has any."""
    images = f"; img-src {' '.join(filter(None, (image_origin, thumbnails)))}" if image_origin else ""
    clips = f"; media-src {image_origin}" if image_origin and media else ""
    forms = "; form-action 'self'" if form else "; form-action 'none'"
    return f"{_BASE_POLICY}{forms}{images}{clips}; frame-ancestors 'none'"


def _document(title: str, body: str, *, referrer: str = NO_REFERRER) -> str:
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex, nofollow"><meta name="referrer" content="{referrer}">'
        f'<meta property="og:title" content="{escape(_PREVIEW_TITLE)}">'
        f'<meta property="og:description" content="{escape(_PREVIEW_DESCRIPTION)}">'
        f'<meta name="description" content="{escape(_PREVIEW_DESCRIPTION)}">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>"
    )


def _bilingual(ja: str, en: str) -> str:
    return f'{escape(ja)} / <span lang="en">{escape(en)}</span>'


def _when(moment: datetime) -> str:
    local = moment.astimezone(_JST).strftime("%Y-%m-%d %H:%M:%S JST")
    return f'<time datetime="{escape(format_rfc3339(moment))}">{escape(local)}</time>'


def refusal_page(refusal: shares.ShareRefusal) -> Page:
    ja, en = EXPLANATIONS[refusal.reason]
    body = f"<h1>{_bilingual('映像を表示できません', 'The footage cannot be shown')}</h1><p>{escape(ja)}</p>"
    body += f'<p lang="en">{escape(en)}</p>'
    return Page(refusal.status, _document("映像を表示できません / The footage cannot be shown", body), _policy(None))


def _facts(footage: shares.SharedFootage | shares.ShareInterstitial) -> str:
    share = footage.share
    rows = [(_bilingual("カメラ", "Camera"), escape(footage.camera_name))]
    purpose = footage.purpose
    rows.append((_bilingual("目的", "Purpose"), _bilingual(purpose.label("ja"), purpose.label("en"))))
    if share.purpose_note:
        rows.append((_bilingual("補足", "Note"), escape(share.purpose_note)))
    if share.window_start and share.window_end:
        rows.append((_bilingual("期間", "Period"), f"{_when(share.window_start)} &ndash; {_when(share.window_end)}"))
    rows.append((_bilingual("リンクの期限", "Link expires"), _when(share.expires_at)))
    return "<dl>" + "".join(f"<dt>{term}</dt><dd>{value}</dd>" for term, value in rows) + "</dl>"


def _is_clip(signed: SignedFrame) -> bool:
    return signed.frame.content_type == _CLIP


def _one_clip(signed: SignedFrame) -> str:
    """The clip itself, its poster frame shown until it plays; the fallback (for a browser without <video>) links to
    the clip."""
    frame = signed.frame
    url = escape(signed.image_url)
    fallback = _bilingual("このブラウザでは動画を再生できません。", "This browser cannot play the clip.")
    fallback += f' <a href="{url}">{_bilingual("動画を開く", "Open the clip")}</a>'
    return (
        f'<figure><video controls playsinline preload="metadata" poster="{escape(signed.thumbnail_url)}" '
        f'src="{url}" width="{frame.width}" height="{frame.height}">{fallback}</video>'
        f"<figcaption>{_when(frame.captured_at)}</figcaption></figure>"
    )


def _one_frame(signed: SignedFrame) -> str:
    if _is_clip(signed):
        return _one_clip(signed)
    frame = signed.frame
    url = escape(signed.image_url)
    return (
        f'<figure><a href="{url}"><img src="{url}" width="{frame.width}" height="{frame.height}" '
        f'alt="{escape(format_rfc3339(frame.captured_at))}"></a><figcaption>{_when(frame.captured_at)}</figcaption>'
        "</figure>"
    )


def _thumbnail(signed: SignedFrame) -> str:
    frame = signed.frame
    return (
        f'<li><figure><a href="{escape(signed.image_url)}"><img src="{escape(signed.thumbnail_url)}" '
        f'width="{frame.thumb_width}" height="{frame.thumb_height}" loading="lazy" '
        f'alt="{escape(format_rfc3339(frame.captured_at))}"></a><figcaption>{_when(frame.captured_at)}</figcaption>'
        "</figure></li>"
    )


def _image_origin(footage: shares.SharedFootage) -> str | None:
    """scheme://host[:port] of this view's signed URLs: the one place the page may load images from."""
    if not footage.frames:
        return None
    return _origin(footage.frames[0].image_url)


def _thumbnail_origins(footage: shares.SharedFootage) -> str:
    """The origins of its thumbnails other than the images' (the renderer's, for stills stored without one)."""
    images = _image_origin(footage)
    return " ".join(sorted({_origin(s.thumbnail_url) for s in footage.frames} - {images}))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def interstitial_page(opened: shares.ShareInterstitial) -> Page:
    """A one-time link before its button: what it shares and why, and the button. No frame, no URL of one, no image
    allowed by the policy; the form posts to this same address (no action attribute), with no script."""
    body = f"<h1>{_bilingual('共有された映像', 'Shared footage')}</h1>{_facts(opened)}"
    once = _bilingual(
        "このリンクは一度だけ開けます。下のボタンを押すと映像が表示され、リンクは使用済みになります。",
        "This link opens only once. Press the button below to show the footage; the link is then used up.",
    )
    body += f'<p class="note">{once}</p>'
    button = _bilingual("映像を表示する", "Show the footage")
    body += f'<form method="post"><button type="submit" name="open" value="1">{button}</button></form>'
    html = _document(_PREVIEW_TITLE, body, referrer=SAME_ORIGIN)
    return Page(200, html, _policy(None, form=True), referrer_policy=SAME_ORIGIN)


def footage_page(footage: shares.SharedFootage) -> Page:
    title = _PREVIEW_TITLE
    body = f"<h1>{_bilingual('共有された映像', 'Shared footage')}</h1>{_facts(footage)}"
    one_frame = footage.share.frame_id is not None
    if one_frame:
        body += "".join(_one_frame(signed) for signed in footage.frames)
    elif footage.frames:
        body += '<ul class="frames">' + "".join(_thumbnail(signed) for signed in footage.frames) + "</ul>"
    else:
        body += f"<p>{_bilingual('この期間の映像はありません。', 'There is no footage in this period.')}</p>"
    if footage.cursor:
        body += f'<a class="more" href="?cursor={escape(quote(footage.cursor, safe=""))}">'
        body += f"{_bilingual('次へ', 'More')}</a>"
    note = _bilingual(
        "この映像は上記の目的のためだけに共有されています。画像のリンクは数分で無効になります。",
        "This footage is shared only for the purpose above. The image links stop working after a few minutes.",
    )
    body += f'<p class="note">{note}</p>'
    if footage.share.one_time:
        once = _bilingual("このページは一度しか開けません。", "This page can be opened only once.")
        body += f'<p class="note">{once}</p>'
    clip = one_frame and any(_is_clip(signed) for signed in footage.frames)  # a window shows clips by thumbnail
    policy = _policy(_image_origin(footage), media=clip, thumbnails=_thumbnail_origins(footage))
    return Page(200, _document(title, body), policy)
