"""Share links created, opened and revoked through the viewer API."""

from __future__ import annotations

import json
from typing import Any

from functions.viewer import app as viewer
from tests.support import (
    LambdaContext,
    api_event,
    body_of,
    customer_event,
)


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


def open_page(link: str, **query: str) -> dict[str, Any]:
    token = link_token(link) if "/s/" in link else link
    event = api_event(
        "viewer/share_page.json",
        path=f"/s/{token}",
        resource="/s/{token}",
        path_parameters={"token": token},
        query=query,
    )
    return viewer.lambda_handler(event, LambdaContext())
