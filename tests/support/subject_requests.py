"""Given- and when-steps for requests from people filmed (issue 15 points 4 and 5), through the viewer's handler as a
browser would use the notice page's form: open the page, keep its cookie and form token, post the form."""

from __future__ import annotations

import html
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from doti.store import registry as registry_store
from doti.subjects.requests import JST
from tests.support import api_event, body_of, customer_event
from tests.support.moto import PUBLIC_BASE_URL
from tests.support.viewer import viewer_call

COOKIE = "__Host-doti_form"  # the public base URL of the tests is https


@dataclass(frozen=True)
class OpenedForm:
    public_id: str
    token: str
    cookie: str
    cameras: dict[str, str]  # camera name -> the form's value for it
    page: str


def header(response: dict[str, Any], name: str) -> str:
    (value,) = response["multiValueHeaders"][name]
    return value


def public_id_of(site_id: str) -> str:
    public_id = registry_store.get_site(site_id).public_id
    assert public_id
    return public_id


def open_form(site_id: str) -> OpenedForm:
    public_id = public_id_of(site_id)
    event = api_event("viewer/notice_page.json", path=f"/p/{public_id}", path_parameters={"public_id": public_id})
    response = viewer_call(event)
    assert response["statusCode"] == 200, response["body"]
    page = response["body"]
    token = re.search(r'name="form_token" value="([^"]*)"', page).group(1)
    cookie = header(response, "Set-Cookie").split(";", 1)[0]
    options = re.findall(r'<option value="([0-9a-f]{16})"[^>]*>([^<]*)</option>', page)
    return OpenedForm(public_id, token, cookie, {html.unescape(name): ref for ref, name in options}, page)


def local(moment: datetime) -> str:
    """A datetime-local field's value: Japan time, to the minute."""
    return moment.astimezone(JST).strftime("%Y-%m-%dT%H:%M")


def form_fields(form: OpenedForm, now: datetime, **fields: str) -> dict[str, str]:
    """A filled-in disclosure request about the last half hour on the site's first camera, `fields` replacing. Its
    token is a fresh one, as a page opened again would give (the same form sent twice is one request)."""
    values = {
        "form_token": secrets.token_urlsafe(24),
        "kind": "disclosure",
        "camera_id": next(iter(form.cameras.values()), ""),
        "from": local(now - timedelta(minutes=30)),
        "to": local(now),
        "contact": "hanako@example.jp",
        "text": "I was at the entrance around noon in a red coat. Please show me the footage.",
        "website": "",
    }
    return {**values, **fields}


def post_form(
    form: OpenedForm,
    fields: dict[str, str],
    *,
    cookie: str | None = None,
    origin: str | None = PUBLIC_BASE_URL,
    ip: str | None = None,
    body: str | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, Any]:
    # the cookie the page set with the form's token (`cookie` replaces it)
    paired = f"{COOKIE}={fields.get('form_token', form.token)}"
    headers = {"Content-Type": content_type, "Cookie": paired if cookie is None else cookie}
    if origin:
        headers["Origin"] = origin
    event = api_event(
        "viewer/make_request.json",
        path=f"/p/{form.public_id}/requests",
        path_parameters={"public_id": form.public_id},
        headers=headers,
        body=urlencode(fields) if body is None else body,
        binary=False,
    )
    # a fresh address unless the test names one: the per-ip limit counts across tests in the shared moto
    event["requestContext"]["identity"]["sourceIp"] = ip or f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
    return viewer_call(event)


def status_token(response: dict[str, Any]) -> str:
    """The status link's token from a 303 to it."""
    assert response["statusCode"] == 303, response["body"][:2000]
    location = header(response, "Location")
    assert location.startswith(f"{PUBLIC_BASE_URL}/r/")
    return urlsplit(location).path.removeprefix("/r/")


def open_status(token: str) -> dict[str, Any]:
    event = api_event("viewer/request_status.json", path=f"/r/{token}", path_parameters={"token": token})
    return viewer_call(event)


def page_text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def requests_call(token: str, path: str, *, method: str = "GET", body: Any = None, query: dict | None = None):
    """A customer call to the /v1/requests routes."""
    parts = path.strip("/").split("/")
    resource = "/v1/requests"
    params: dict[str, str] = {}
    if len(parts) >= 3:
        resource += "/{request_id}"
        params["request_id"] = parts[2]
    if len(parts) == 4:
        resource += "/" + parts[3]
    event = customer_event(
        "viewer/list_cameras.json",
        token,
        method=method,
        path=path,
        resource=resource,
        path_parameters=params or None,
        query=query or {},
        body=None if body is None else json.dumps(body),
    )
    return viewer_call(event)


def listed_requests(token: str) -> list[dict[str, Any]]:
    response = requests_call(token, "/v1/requests")
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]
