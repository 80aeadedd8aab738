"""Share links created, opened and revoked through the viewer API."""

from __future__ import annotations

import json
from typing import Any

from doti.viewing.share_purposes import ground_code, registered_code
from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    api_event,
    body_of,
    customer_event,
)

# A purpose any camera allows, registered or not: protecting a person's life, body or property (APPI Art. 27-1-2).
GROUND = ground_code("art10-3-2")
CRIME_PREVENTION = registered_code("crime_prevention")


def create_share(token: str, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    """POST /v1/shares; `headers` replace or add request headers (a client chooses them all)."""
    event = customer_event(
        "viewer/create_share.json",
        token,
        path="/v1/shares",
        resource="/v1/shares",
        method="POST",
        body=json.dumps(body),
    )
    event["headers"] |= headers or {}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    return viewer.lambda_handler(event, LambdaContext())


def created(token: str, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    response = create_share(token, headers, **body)
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def revoke(token: str, share_id: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/list_cameras.json",
        token,
        path=f"/v1/shares/{share_id}",
        resource="/v1/shares/{share_id}",
        path_parameters={"share_id": share_id},
        method="DELETE",
        query={},
    )
    return viewer.lambda_handler(event, LambdaContext())


def link_token(url: str) -> str:
    return url.rsplit("/s/", 1)[1]


def open_page(link: str, headers: dict[str, str] | None = None, **query: str) -> dict[str, Any]:
    """GET /s/{token}: what a browser, or a chat app's preview bot (`headers`: its User-Agent), gets."""
    token = link_token(link) if "/s/" in link else link
    event = api_event(
        "viewer/share_page.json",
        path=f"/s/{token}",
        resource="/s/{token}",
        headers=headers,
        path_parameters={"token": token},
        query=query,
    )
    return viewer.lambda_handler(event, LambdaContext())


FORM = "application/x-www-form-urlencoded"


def press_button(
    link: str, headers: dict[str, str] | None = None, *, body: str = "open=1", content_type: str | None = FORM
) -> dict[str, Any]:
    """POST /s/{token} as the interstitial's button does: the form, URL-encoded, with `headers` added (an Origin, a
    Referer); `content_type=None` sends none."""
    token = link_token(link) if "/s/" in link else link
    sent = {"Content-Type": content_type} if content_type else {}
    event = api_event(
        "viewer/share_page.json",
        method="POST",
        path=f"/s/{token}",
        resource="/s/{token}",
        headers={**sent, **(headers or {})},
        body=body,
        path_parameters={"token": token},
        query={},
    )
    return viewer.lambda_handler(event, LambdaContext())


def opened(link: str) -> dict[str, Any]:
    """The link's footage as its holder reaches it: a one-time link's button pressed, any other link's GET."""
    page = open_page(link)
    if page["statusCode"] == 200 and "<form" in page["body"]:
        return press_button(link)
    return page
