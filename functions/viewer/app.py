"""Viewer: the customer API (SPEC §6, §12). Bearer sessions; every image is a short-lived signed S3 URL.

The routes live in viewer_routes/, one router per concern.
"""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation,
# and string annotations behind decorators (tracer) cannot be resolved.
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from viewer_routes import account, alerts, browse, inbox, web
from viewer_routes import exports as export_routes
from viewer_routes import invitations as invitation_routes
from viewer_routes import notes as note_routes
from viewer_routes import notice as notice_routes
from viewer_routes import shares as share_routes
from viewer_routes import subject_requests as request_routes
from viewer_routes import users as user_routes
from viewer_routes import webhooks as webhook_routes
from viewer_routes.common import PUBLIC_RESOURCES, session

from doti import openapi, runtime
from doti.http import make_resolver, openapi_response
from doti.observability import logger, metrics, tracer


def _authenticate_unless_public() -> None:
    if app.current_event.resource not in PUBLIC_RESOURCES:
        session(app)


app = make_resolver(authenticate=_authenticate_unless_public, challenge='Bearer realm="doti"')
app.include_router(account.router)
app.include_router(browse.router)
app.include_router(inbox.router)
app.include_router(web.router)
app.include_router(note_routes.router)
app.include_router(user_routes.router)
app.include_router(invitation_routes.router)
app.include_router(share_routes.router)
app.include_router(export_routes.router)
app.include_router(notice_routes.router)
app.include_router(request_routes.router)
app.include_router(webhook_routes.router)
app.include_router(alerts.router)


@app.get("/v1/openapi.json", responses=openapi.DOCUMENT)
def openapi_document() -> Response[dict[str, Any]]:
    return openapi_response(app, "doti customer API", openapi.CUSTOMER, public=PUBLIC_RESOURCES)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    return app.resolve(event, context)
