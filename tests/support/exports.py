"""Exports of a contract's frames: requesting one through the viewer API and reading the archive it makes."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

import boto3

from doti.clock import format_rfc3339
from functions.viewer import app as viewer
from infra.provision import Provisioned
from tests.support import LambdaContext, body_of, customer_event


def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def get_export(token: str, export_id: str) -> dict[str, Any]:
    """The viewer's answer to GET /v1/exports/{export_id}, whatever it is."""
    event = customer_event(
        "viewer/list_cameras.json",
        token,
        path=f"/v1/exports/{export_id}",
        resource="/v1/exports/{export_id}",
        path_parameters={"export_id": export_id},
        query={},
    )
    return viewer.lambda_handler(event, LambdaContext())


def request_export(token: str, camera_id: str, start: Any, end: Any) -> dict[str, Any]:
    body = {"camera_id": camera_id, "from": start, "to": end}
    body = {k: (format_rfc3339(v) if isinstance(v, datetime) else v) for k, v in body.items() if v is not None}
    event = customer_event(
        "viewer/request_export.json",
        token,
        path="/v1/exports",
        resource="/v1/exports",
        method="POST",
        body=json.dumps(body),
    )
    return viewer.lambda_handler(event, LambdaContext())


def requested(token: str, camera_id: str, start: datetime, end: datetime) -> str:
    response = request_export(token, camera_id, start, end)
    assert response["statusCode"] == 202, response["body"]
    return body_of(response)["export_id"]


def read_archive(aws: Provisioned, key: str) -> zipfile.ZipFile:
    body = s3().get_object(Bucket=aws.refs["FramesBucket"], Key=key)["Body"].read()
    return zipfile.ZipFile(io.BytesIO(body))
