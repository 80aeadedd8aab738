"""E-mail alerts (issue 16 §5): which events an owner has mailed to the contract's registered address
(doti.webhooks.alerts). Owners only."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from doti import openapi
from doti.api.customer import MailAlerts
from doti.clock import utcnow
from doti.http import json_response
from doti.webhooks import alerts
from doti.webhooks.events import MAIL_EVENT_TYPES
from viewer_routes.common import session

router = APIGatewayRouter()


class MailAlertsChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    events: list[str] = Field(max_length=10, description=f"a subset of {', '.join(MAIL_EVENT_TYPES)}; [] for none")


@router.get("/v1/alerts/mail", responses=openapi.answers(200))
def get_mail_alerts() -> Response[MailAlerts]:
    _, owner = session(router)
    chosen = alerts.mail_alerts_of(owner, now=utcnow())
    return json_response(200, MailAlerts(events=chosen, available=list(MAIL_EVENT_TYPES)))


@router.put("/v1/alerts/mail", responses=openapi.answers(200))
def put_mail_alerts(body: MailAlertsChoice) -> Response[MailAlerts]:
    """Replace the owner's choice; 422 naming `events` when one is not in `available`."""
    _, owner = session(router)
    chosen = alerts.choose_mail_alerts(owner, body.events, now=utcnow())
    return json_response(200, MailAlerts(events=chosen, available=list(MAIL_EVENT_TYPES)))
