"""Admin: staff operations (SPEC §7). Every route needs a staff X-Api-Key; the routes live in admin_routes/."""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation,
# and string annotations behind decorators (tracer) cannot be resolved.
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from admin_routes import contracts, oversight, registry, webhooks
from admin_routes.common import staff
from doti import openapi, runtime
from doti.http import make_resolver, openapi_response
from doti.observability import logger, tracer

# Every staff route needs a key, so a request that fails validation is authenticated before it is answered.
app = make_resolver(authenticate=lambda: staff(app))
app.include_router(contracts.router)
app.include_router(registry.router)
app.include_router(oversight.router)
app.include_router(webhooks.router)


@app.get("/v1/admin/openapi.json", responses=openapi.DOCUMENT)
def openapi_document() -> Response[dict[str, Any]]:
    staff(app)
    return openapi_response(app, "doti staff API", openapi.STAFF)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    return app.resolve(event, context)
