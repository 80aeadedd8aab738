"""Requests from the people filmed (issue 15 points 4 and 5).

Public, without a session: the notice page's form POSTs to `/p/{public_id}/requests` (a same-origin, URL-encoded form
whose token must equal the page's cookie; doti.public_forms) and is answered 303 to the request's status link,
`/r/{token}`, or with the notice page again listing what to fix (422), the limit reached (429), or a plain page.
For owners and managers: `GET /v1/requests`, `GET /v1/requests/{request_id}`, `POST /v1/requests/{id}/answer`.
"""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from doti import openapi, public_forms, runtime
from doti.api.subject_requests import SubjectRequestItem, SubjectRequestPage
from doti.clock import utcnow
from doti.errors import UnsupportedMediaType
from doti.http import json_response, lower_headers, raw_body
from doti.public_urls import public_base_url
from doti.subjects import requests as subject_requests
from doti.viewing import notice, notice_page, request_page
from doti.viewing.share_page import Page
from viewer_routes.common import public, session

router = APIGatewayRouter()
public("/p/{public_id}/requests", "/r/{token}")

_PUBLIC_ID_MAX = 64
_TOKEN_MAX = 128


def _html(page: Page, extra: dict[str, str] | None = None) -> Response[str]:
    headers = {**page.headers(), **(extra or {})}
    return Response(status_code=page.status, content_type="text/html; charset=utf-8", body=page.html, headers=headers)


def notice_with_form(found: notice.SiteNotice, form: notice_page.RequestForm | None = None, status: int = 200):
    """The notice page with a fresh form token, set as this browser's cookie too."""
    base = public_base_url()
    token = public_forms.new_form_token()
    form = notice_page.RequestForm(token=token, values=form.values, problems=form.problems) if form else None
    page = notice_page.notice_page(found, form or notice_page.RequestForm(token=token), status)
    return _html(page, {"Set-Cookie": public_forms.form_cookie(token, base)})


def _refused(status: int, ja: str, en: str) -> Response[str]:
    return _html(request_page.refusal_page(status, ja, en))


@router.post(
    "/p/<public_id>/requests",
    responses=openapi.combine(openapi.pages(303, 400, 403, 404, 413, 422, 429), openapi.answers(415)),
    openapi_extensions=openapi.form(subject_requests.FORM_FIELDS, max_bytes=subject_requests.MAX_FORM_BYTES),
)
def make_request(public_id: str) -> Response[str]:
    now = utcnow()
    headers = lower_headers(router)
    found = notice.notice_for(public_id, now=now) if len(public_id) <= _PUBLIC_ID_MAX else None
    if found is None:
        return _html(notice_page.not_found_page())
    if not public_forms.is_form(headers.get("content-type", "")):
        raise UnsupportedMediaType(f"post the page's form as {public_forms.FORM}")
    body = raw_body(router)
    if len(body) > subject_requests.MAX_FORM_BYTES:
        return _refused(
            413,
            "送信内容が大きすぎます。ご請求の内容を短くしてお試しください。",
            "What you sent is too large: please shorten your request and try again.",
        )
    base = public_base_url()
    if public_forms.from_another_site(headers, base):
        return _refused(403, "このフォームは別のサイトから送信されました。", "This form was sent from another site.")
    try:
        fields = public_forms.read_form(body, subject_requests.FORM_FIELDS)
    except ValueError:
        return _refused(400, "送信内容を読み取れませんでした。", "What you sent could not be read.")
    if not public_forms.token_matches(headers, fields["form_token"], base):
        return _refused(
            403,
            "フォームの有効期限が切れたか、ブラウザーのCookieが無効です。ページを開き直してから送信してください。",
            "The form has expired or your browser blocks cookies: please open the page again and send it from there.",
        )
    identity = router.current_event.request_context.identity
    try:
        accepted = subject_requests.submit(
            public_id, fields, ip=identity.source_ip or "", box=runtime.personal_data_box(), now=now
        )
    except subject_requests.FormRefused as refused:
        if refused.status == 400:
            return _refused(400, refused.problems[0].ja, refused.problems[0].en)
        kept = {k: v for k, v in fields.items() if k not in (subject_requests.HONEYPOT, "form_token")}
        form = notice_page.RequestForm(token="", values=kept, problems=refused.problems)
        return notice_with_form(found, form, refused.status)
    if accepted is None:
        return _html(notice_page.not_found_page())
    return Response(status_code=303, headers={"Location": accepted.status_url, "Cache-Control": "no-store"}, body="")


@router.get("/r/<token>", responses=openapi.pages(200, 404))
def request_status(token: str) -> Response[str]:
    status = None
    if len(token) <= _TOKEN_MAX:
        status = subject_requests.status_of(token, box=runtime.personal_data_box(), now=utcnow())
    return _html(request_page.status_page(status) if status else notice_page.not_found_page())


@router.get("/v1/requests", responses=openapi.answers(200))
def list_requests(
    limit: Annotated[int, Query(ge=1, le=subject_requests.MAX_PAGE_SIZE)] = subject_requests.PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response[SubjectRequestPage]:
    """The contract's requests from people filmed in the user's sites, newest first, with their due dates."""
    _, user = session(router)
    views, next_cursor = subject_requests.list_requests(user, now=utcnow(), limit=limit, cursor=cursor)
    return json_response(200, SubjectRequestPage(items=[SubjectRequestItem.of(v) for v in views], cursor=next_cursor))


@router.get("/v1/requests/<request_id>", responses=openapi.answers(200, 404))
def get_request(request_id: str) -> Response[SubjectRequestItem]:
    """One request with what the person asked and how to reach them (for whoever answers it)."""
    _, user = session(router)
    view = subject_requests.get_request(user, request_id, box=runtime.personal_data_box(), now=utcnow())
    return json_response(200, SubjectRequestItem.of(view, whole=True))


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    action: Literal["disclose", "refuse", "delete", "reply"]
    text: str | None = Field(
        default=None, max_length=subject_requests.MAX_ANSWER_TEXT, description="the reason of a refusal, a reply"
    )
    frame_id: str | None = Field(default=None, max_length=64, description="disclose: the frame to share, once")
    camera_id: str | None = Field(
        default=None, max_length=64, description="disclose, delete: the camera, when the person named none"
    )


@router.post("/v1/requests/<request_id>/answer", responses=openapi.answers(200, 404, 409))
def answer_request(request_id: str, body: AnswerBody) -> Response[SubjectRequestItem]:
    """Answer: disclose one frame of the window by a one-time link on the status page, refuse with a reason, delete
    the window's footage (done by the retention job within the hour), or reply in text."""
    _, user = session(router)
    answer = subject_requests.Answer(
        action=body.action, text=body.text, frame_id=body.frame_id, camera_id=body.camera_id
    )
    view = subject_requests.answer_request(user, request_id, answer, box=runtime.personal_data_box(), now=utcnow())
    return json_response(200, SubjectRequestItem.of(view, whole=True))
