"""A contract's webhooks, for staff (issue 16 §3): the owner's routes under /v1/admin/contracts/{contract_id}."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from admin_routes.common import staff
from doti import openapi, runtime
from doti.api.webhooks import DeliveryAttemptItem, DeliveryLog, WebhookBody, WebhookCreated, WebhookItem, WebhookList
from doti.clock import utcnow
from doti.http import json_response
from doti.oversight import audit
from doti.settings import get_settings
from doti.webhooks import dispatch, endpoints

router = Router()
_BASE = "/v1/admin/contracts/<contract_id>/webhooks"


def _actor() -> str:
    return audit.staff_actor(staff(router))


@router.post(_BASE, responses=openapi.answers(201, 404, 409))
def create_webhook(contract_id: str, body: WebhookBody) -> Response[WebhookCreated]:
    """Register an endpoint for the contract; its secret (`whsec_…`) is in this answer only: hand it to the customer."""
    actor = _actor()
    request = endpoints.read_request(
        body.url, body.events, body.include_image_links, allow_loopback=get_settings().allows_loopback_webhooks
    )
    issued = endpoints.create(contract_id, request, box=runtime.webhook_secrets(), actor=actor, now=utcnow())
    return json_response(201, WebhookCreated.issued(issued))


@router.get(_BASE, responses=openapi.answers(200, 404))
def list_webhooks(contract_id: str) -> Response[WebhookList]:
    staff(router)
    return json_response(200, WebhookList(items=[WebhookItem.of(w) for w in endpoints.list_of(contract_id)]))


@router.delete(f"{_BASE}/<webhook_id>", responses=openapi.answers(204, 404))
def delete_webhook(contract_id: str, webhook_id: str) -> Response[None]:
    endpoints.delete(contract_id, webhook_id, actor=_actor(), now=utcnow())
    return Response(status_code=204, body=None)


@router.post(f"{_BASE}/<webhook_id>/rotate", responses=openapi.answers(200, 404, 409))
def rotate_webhook_secret(contract_id: str, webhook_id: str) -> Response[WebhookCreated]:
    actor = _actor()
    issued = endpoints.rotate(contract_id, webhook_id, box=runtime.webhook_secrets(), actor=actor, now=utcnow())
    return json_response(200, WebhookCreated.issued(issued))


@router.post(f"{_BASE}/<webhook_id>/test", responses=openapi.answers(200, 404))
def test_webhook(contract_id: str, webhook_id: str) -> Response[DeliveryAttemptItem]:
    actor = _actor()
    result = dispatch.send_test(contract_id, webhook_id, deliverer=runtime.deliverer(), actor=actor, now=utcnow())
    return json_response(200, DeliveryAttemptItem.of(result))


@router.get(f"{_BASE}/<webhook_id>/deliveries", responses=openapi.answers(200, 404))
def webhook_deliveries(contract_id: str, webhook_id: str) -> Response[DeliveryLog]:
    staff(router)
    attempts = endpoints.delivery_log(contract_id, webhook_id)
    return json_response(200, DeliveryLog(items=[DeliveryAttemptItem.of(a) for a in attempts]))
