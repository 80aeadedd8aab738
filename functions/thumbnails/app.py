"""Thumbnail renderer (issue 17): a still's thumbnail, rendered from its stored original when a signed link asks for
it, behind a Lambda Function URL (doti.viewing.renders)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from doti import runtime
from doti.clock import utcnow
from doti.observability import logger, tracer
from doti.viewing import renders


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    runtime.init()
    return renders.answer(event, runtime.render_links(), runtime.storage(), utcnow())
