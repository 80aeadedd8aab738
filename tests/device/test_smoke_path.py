"""Given a tenant, when a device posts a frame, then the customer lists it with working signed URLs."""

from __future__ import annotations

import requests

from functions.ingest import app as ingest
from functions.viewer import app as viewer
from tests.support import LambdaContext, api_event, body_of, customer_event, frame_event, sample_image


def test_frame_travels_from_device_to_customer(world):
    image = sample_image()
    response = ingest.lambda_handler(frame_event(world, image), LambdaContext())
    assert response["statusCode"] == 201, response["body"]
    frame = body_of(response)

    login = viewer.lambda_handler(
        api_event("viewer/login.json", body=f'{{"login_id": "{world.login_id}", "password": "{world.password}"}}'),
        LambdaContext(),
    )
    assert login["statusCode"] == 200, login["body"]
    token = body_of(login)["token"]

    listing = viewer.lambda_handler(
        customer_event(
            "viewer/list_frames.json",
            token,
            path=f"/v1/cameras/{world.camera_id}/frames",
            resource="/v1/cameras/{camera_id}/frames",
            path_parameters={"camera_id": world.camera_id},
            query={},
        ),
        LambdaContext(),
    )
    assert listing["statusCode"] == 200, listing["body"]
    items = body_of(listing)["items"]
    assert [i["frame_id"] for i in items] == [frame["frame_id"]]
    # moto in-process answers plain HTTP to S3 URLs too: fetch the signed URL as a browser would.
    fetched = requests.get(items[0]["image_url"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == image
    assert fetched.headers["Content-Type"] == "image/jpeg"
