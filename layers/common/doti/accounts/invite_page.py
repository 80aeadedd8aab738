"""The HTML page an invitation link opens (doti.accounts.invitations): server-rendered for a phone, no script, every
text escaped, in Japanese and English.

It is a form (login id, password, password again) that posts back to its own address. As on share pages
(doti.viewing.share_page), the only stylesheet is inline and allowed by its hash, and nothing else loads
(`default-src 'none'`); forms may post only to this origin. Refusals get a page of their own that says plainly why.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape

from doti.accounts import invitations, login_ids
from doti.auth import customer
from doti.clock import format_rfc3339
from doti.csp import style_source
from doti.viewing.share_page import Page

_JST = timezone(timedelta(hours=9), "JST")  # the service's customers are in Japan; UTC stays in <time datetime>

_CSS = (
    ":root{color-scheme:light dark}"
    "body{margin:0 auto;max-width:32rem;padding:16px;"
    'font:16px/1.5 system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif}'
    "h1{font-size:1.25rem;margin:0 0 .75rem}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem .75rem;margin:0 0 1rem}"
    "dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}"
    "label{display:block;font-weight:600;margin-top:1rem}"
    "input{box-sizing:border-box;width:100%;font:inherit;padding:.6rem;margin-top:.25rem;border:1px solid;"
    "border-radius:6px}"
    ".hint{font-size:.9rem;margin:.25rem 0 0}"
    ".problem{font-weight:600;margin:.25rem 0 0}"
    ".alert{border:2px solid;border-radius:6px;padding:.5rem .75rem;margin:0 0 1rem}"
    "button{display:block;width:100%;font:inherit;font-weight:600;margin:1.5rem 0 1rem;padding:.75rem;"
    "border:1px solid;border-radius:6px}"
    ".note{font-size:.9rem}"
)
POLICY = (
    f"default-src 'none'; style-src {style_source(_CSS)}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# role -> (Japanese, English)
ROLES: dict[str, tuple[str, str]] = {
    "owner": ("オーナー", "owner"),
    "manager": ("マネージャー", "manager"),
    "viewer": ("閲覧者", "viewer"),
}

# reason -> (Japanese, English)
EXPLANATIONS: dict[str, tuple[str, str]] = {
    invitations.UNKNOWN: (
        "この招待リンクは使えません。すでに使われたか取り消されたか、アドレスが途中で切れています。"
        "招待した方に新しいリンクを依頼してください。",
        "This invitation link cannot be used: it has been used or withdrawn, or the address is incomplete. "
        "Ask the person who invited you for a new link.",
    ),
    invitations.EXPIRED: (
        "この招待リンクは有効期限が切れています。招待した方に新しいリンクを依頼してください。",
        "This invitation link has expired. Ask the person who invited you for a new one.",
    ),
    invitations.SPENT: (
        "使用できないログインIDが何度も入力されたため、この招待リンクは無効になりました。"
        "招待した方に新しいリンクを依頼してください。",
        "This invitation link no longer works: too many unavailable login IDs were tried. "
        "Ask the person who invited you for a new one.",
    ),
    invitations.SUSPENDED: (
        "このサービスは現在停止中のため、登録できません。",
        "The service is suspended at the moment, so no account can be created.",
    ),
    invitations.ENDED: (
        "この招待の契約は終了しています。",
        "The contract behind this invitation has ended.",
    ),
}

# problem -> (Japanese, English)
PROBLEMS: dict[str, tuple[str, str]] = {
    invitations.LOGIN_ID_INVALID: (
        f"ログインIDは、半角の英小文字・数字と . _ @ + - を使って{login_ids.MIN_CHARS}〜{login_ids.MAX_CHARS}文字で"
        "入力してください。",
        f"A login ID has {login_ids.MIN_CHARS} to {login_ids.MAX_CHARS} characters: letters a-z, digits and . _ @ + -.",
    ),
    invitations.LOGIN_ID_TAKEN: (
        "このログインIDは使用できません。別のログインIDを選んでください。",
        "This login ID is not available. Choose another one.",
    ),
    invitations.PASSWORD_TOO_SHORT: (
        f"パスワードは{customer.MIN_PASSWORD_LENGTH}文字以上にしてください。",
        f"The password needs at least {customer.MIN_PASSWORD_LENGTH} characters.",
    ),
    invitations.PASSWORD_CONTAINS_LOGIN_ID: (
        "パスワードにログインIDを含めないでください。",
        "The password must not contain the login ID.",
    ),
    invitations.PASSWORDS_DIFFER: (
        "確認用のパスワードが一致しません。",
        "The two passwords differ.",
    ),
}

# field -> (label, hint), each (Japanese, English)
_FIELDS: dict[str, tuple[tuple[str, str], tuple[str, str] | None]] = {
    "login_id": (
        ("ログインID", "Login ID"),
        (
            f"半角の英小文字・数字と . _ @ + - で{login_ids.MIN_CHARS}〜{login_ids.MAX_CHARS}文字。"
            "大文字は小文字として扱われます。",
            f"{login_ids.MIN_CHARS} to {login_ids.MAX_CHARS} characters: letters a-z, digits and . _ @ + - "
            "(capitals count as small letters).",
        ),
    ),
    "password": (
        ("パスワード", "Password"),
        (
            f"{customer.MIN_PASSWORD_LENGTH}文字以上。ログインIDを含めないでください。",
            f"At least {customer.MIN_PASSWORD_LENGTH} characters, not containing the login ID.",
        ),
    ),
    "password_again": (("パスワード (確認)", "Password again"), None),
}
_INPUTS = {
    "login_id": (
        f'type="text" autocomplete="username" autocapitalize="none" spellcheck="false" '
        f'minlength="{login_ids.MIN_CHARS}" maxlength="{login_ids.MAX_CHARS}"'
    ),
    "password": f'type="password" autocomplete="new-password" minlength="{customer.MIN_PASSWORD_LENGTH}"',
    "password_again": f'type="password" autocomplete="new-password" minlength="{customer.MIN_PASSWORD_LENGTH}"',
}


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow"><meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>{body}</main></body></html>"
    )


def _bilingual(pair: tuple[str, str]) -> str:
    ja, en = pair
    return f'{escape(ja)} / <span lang="en">{escape(en)}</span>'


def _paragraphs(pair: tuple[str, str], css_class: str = "") -> str:
    ja, en = pair
    attribute = f' class="{css_class}"' if css_class else ""
    return f'<p{attribute}>{escape(ja)}</p><p{attribute} lang="en">{escape(en)}</p>'


def _when(moment: datetime) -> str:
    local = moment.astimezone(_JST).strftime("%Y-%m-%d %H:%M JST")
    return f'<time datetime="{escape(format_rfc3339(moment))}">{escape(local)}</time>'


def _page(status: int, title: tuple[str, str], body: str) -> Page:
    html = _document(f"{title[0]} / {title[1]}", f"<h1>{_bilingual(title)}</h1>{body}")
    return Page(status, html, POLICY)


def refusal_page(refusal: invitations.InvitationRefusal) -> Page:
    return _page(
        refusal.status, ("招待を使えません", "The invitation cannot be used"), _paragraphs(EXPLANATIONS[refusal.reason])
    )


def _facts(opened: invitations.OpenInvitation) -> str:
    invitation = opened.invitation
    rows = [
        (_bilingual(("契約", "Contract")), escape(opened.contract_name)),
        (_bilingual(("お名前", "Name")), escape(invitation.name)),
        (_bilingual(("役割", "Role")), _bilingual(ROLES.get(invitation.role, (invitation.role, invitation.role)))),
        (_bilingual(("リンクの期限", "Link expires")), _when(invitation.expires_at)),
    ]
    return "<dl>" + "".join(f"<dt>{term}</dt><dd>{value}</dd>" for term, value in rows) + "</dl>"


def _field(name: str, value: str, problem: str | None) -> str:
    label, hint = _FIELDS[name]
    described = []
    html = f'<label for="{name}">{_bilingual(label)}</label>'
    if hint:
        html += f'<p class="hint" id="{name}-hint">{_bilingual(hint)}</p>'
        described.append(f"{name}-hint")
    if problem:
        html += f'<p class="problem" id="{name}-problem">{_bilingual(PROBLEMS[problem])}</p>'
        described.append(f"{name}-problem")
    attributes = f'id="{name}" name="{name}" {_INPUTS[name]} required'
    if described:
        attributes += f' aria-describedby="{" ".join(described)}"'
    if problem:
        attributes += ' aria-invalid="true"'
    if value:
        attributes += f' value="{escape(value)}"'
    return html + f"<input {attributes}>"


def form_page(
    opened: invitations.OpenInvitation,
    *,
    status: int = 200,
    problems: dict[str, str] | None = None,
    login_id: str = "",
) -> Page:
    """The invitation and its form; after a refused post, the problems at the top and by their fields, the login id
    filled in again (never a password)."""
    problems = problems or {}
    body = _paragraphs(
        (
            f"{opened.invitation.name} さん、doti カメラビューアに招待されています。"
            "ログインIDとパスワードを決めて登録してください。",
            f"{opened.invitation.name}, you are invited to the doti camera viewer. "
            "Choose a login ID and a password to create your account.",
        )
    )
    body += _facts(opened)
    if problems:
        items = "".join(f"<li>{_bilingual(PROBLEMS[problem])}</li>" for problem in problems.values())
        body += f'<div class="alert" role="alert"><ul>{items}</ul></div>'
    fields = "".join(_field(name, login_id if name == "login_id" else "", problems.get(name)) for name in _FIELDS)
    # No action: the form posts back to this very address, whatever stage or base path the API is served under.
    submit = _bilingual(("登録する", "Create my account"))
    body += f'<form method="post">{fields}<button type="submit">{submit}</button></form>'
    body += _paragraphs(("この招待リンクは一度だけ使えます。", "This invitation link works once."), "note")
    return _page(status, ("doti へのご招待", "Invitation to doti"), body)


def accepted_page(accepted: invitations.Accepted) -> Page:
    user = accepted.user
    body = _paragraphs(
        (
            f"{accepted.contract_name} のユーザーとして登録しました。"
            "このログインIDとパスワードでログインしてください。",
            f"You are now a user of {accepted.contract_name}. Log in with this login ID and your password.",
        )
    )
    body += f"<dl><dt>{_bilingual(('ログインID', 'Login ID'))}</dt><dd>{escape(user.login_id)}</dd></dl>"
    # ../ from <base>/i/<token> is the viewer at <base>/, whatever stage or base path the API is served under.
    body += f'<p><a href="../">{_bilingual(("ビューアを開く", "Open the viewer"))}</a></p>'
    return _page(201, ("登録が完了しました", "Your account is ready"), body)
