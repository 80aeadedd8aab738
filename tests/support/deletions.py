"""The deletion receipts the jobs write, read back for checks."""

from __future__ import annotations

from typing import Any

from functions.viewer import app as viewer
from tests.support import LambdaContext, World, body_of, customer_event
from tests.support.viewer import owner_token


def deletions(token: str, **query: str) -> dict[str, Any]:
    event = customer_event(
        "viewer/list_cameras.json", token, path="/v1/deletions", resource="/v1/deletions", query=query
    )
    return viewer.lambda_handler(event, LambdaContext())


def receipts(world: World, **query: str) -> list[dict[str, Any]]:
    response = deletions(owner_token(world), **query)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["items"]
