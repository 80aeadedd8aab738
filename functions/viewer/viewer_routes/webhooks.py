"""Webhooks, for the owner (issue 16 §3): register endpoints, rotate their secrets, send a test event, read their
delivery logs. Only an owner without a site scope manages them: an endpoint hears of every site of the contract."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from doti import openapi, runtime
from doti.api.webhooks import DeliveryAttemptItem, DeliveryLog, WebhookBody, WebhookCreated, WebhookItem, WebhookList
from doti.clock import utcnow
from doti.http import json_response
from doti.oversight import audit
from doti.settings import get_settings
from doti.webhooks import dispatch, endpoints
from viewer_routes.common import session

router = APIGatewayRouter()


def _owner(*, serving: bool = False) -> tuple[str, str]:
    """The contract of the signed-in owner, and the actor the audit names."""
    _, user = session(router)
    return endpoints.for_owner(user, utcnow(), serving=serving), audit.user_actor(user)


@router.post("/v1/webhooks", responses=openapi.answers(201, 409))
def create_webhook(body: WebhookBody) -> Response[WebhookCreated]:
    """Register an endpoint; its secret (`whsec_…`) is in this answer only."""
    contract_id, actor = _owner(serving=True)
    request = endpoints.read_request(
        body.url, body.events, body.include_image_links, allow_loopback=get_settings().allows_loopback_webhooks
    )
    issued = endpoints.create(contract_id, request, box=runtime.webhook_secrets(), actor=actor, now=utcnow())
    return json_response(201, WebhookCreated.issued(issued))


@router.get("/v1/webhooks", responses=openapi.answers(200))
def list_webhooks() -> Response[WebhookList]:
    contract_id, _ = _owner()
    return json_response(200, WebhookList(items=[WebhookItem.of(w) for w in endpoints.list_of(contract_id)]))


@router.delete("/v1/webhooks/<webhook_id>", responses=openapi.answers(204, 404))
def delete_webhook(webhook_id: str) -> Response[None]:
    contract_id, actor = _owner()
    endpoints.delete(contract_id, webhook_id, actor=actor, now=utcnow())
    return Response(status_code=204, body=None)


@router.post("/v1/webhooks/<webhook_id>/rotate", responses=openapi.answers(200, 404, 409))
def rotate_webhook_secret(webhook_id: str) -> Response[WebhookCreated]:
    """A new secret, shown once; the old one keeps signing beside it for 24 hours."""
    contract_id, actor = _owner(serving=True)
    issued = endpoints.rotate(contract_id, webhook_id, box=runtime.webhook_secrets(), actor=actor, now=utcnow())
    return json_response(200, WebhookCreated.issued(issued))


@router.post("/v1/webhooks/<webhook_id>/test", responses=openapi.answers(200, 404))
def test_webhook(webhook_id: str) -> Response[DeliveryAttemptItem]:
    """Send a `webhook.test` event now, once, and answer how it went (a success enables a disabled endpoint)."""
    contract_id, actor = _owner(serving=True)
    result = dispatch.send_test(contract_id, webhook_id, deliverer=runtime.deliverer(), actor=actor, now=utcnow())
    return json_response(200, DeliveryAttemptItem.of(result))


@router.get("/v1/webhooks/<webhook_id>/deliveries", responses=openapi.answers(200, 404))
def webhook_deliveries(webhook_id: str) -> Response[DeliveryLog]:
    contract_id, _ = _owner()
    attempts = endpoints.delivery_log(contract_id, webhook_id)
    return json_response(200, DeliveryLog(items=[DeliveryAttemptItem.of(a) for a in attempts]))
