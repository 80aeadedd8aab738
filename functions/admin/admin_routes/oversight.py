"""Staff routes for oversight: the audit log, third-party disclosures, leak incidents and notices."""

# No `from __future__ import annotations`: Powertools reads the route signatures for OpenAPI validation.
from aws_lambda_powertools.event_handler.api_gateway import Router

router = Router()
