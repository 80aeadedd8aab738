"""What the service tells the customer: notices (Art. 5), the access log and deletion receipts."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from doti import openapi
from doti.api.customer import AccessEntry, AccessLogPage, DeletionList, DeletionReceipt, Notice, NoticeList
from doti.clock import utcnow
from doti.contracts import notices
from doti.http import json_response
from doti.oversight import access_log
from doti.viewing import deletions
from viewer_routes.common import session

router = APIGatewayRouter()
# A day as doti.viewing.deletions reads it; the pattern also refuses the ISO week dates (2024-W01-1) fromisoformat would
# take.
_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@router.get("/v1/notices", responses=openapi.answers(200))
def list_notices(limit: Annotated[int, Query(ge=1, le=100)] = 50) -> Response[NoticeList]:
    _, user = session(router)
    found = notices.notices_for(user, limit=limit, now=utcnow())
    return json_response(200, NoticeList(items=[Notice.of(notice, read_at) for notice, read_at in found]))


@router.post("/v1/notices/<notice_id>/read", responses=openapi.answers(204, 404))
def mark_notice_read(notice_id: str) -> Response[str]:
    _, user = session(router)
    notices.mark_read(user, notice_id, utcnow())
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@router.get("/v1/access-log", responses=openapi.answers(200))
def access_log_page(
    limit: Annotated[int, Query(ge=1, le=access_log.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response[AccessLogPage]:
    _, user = session(router)
    entries, next_cursor = access_log.customer_page(user, limit=limit, cursor=cursor, now=utcnow())
    return json_response(200, AccessLogPage(items=[AccessEntry.of(e) for e in entries], cursor=next_cursor))


@router.get("/v1/deletions", responses=openapi.answers(200))
def list_deletions(
    from_: Annotated[str | None, Query(alias="from", pattern=_DAY, description="first day, YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(pattern=_DAY, description="last day (included), YYYY-MM-DD")] = None,
    limit: Annotated[int, Query(ge=1, le=deletions.MAX_PAGE)] = 31,
) -> Response[DeletionList]:
    _, user = session(router)
    query = deletions.DeletionQuery(first_day=from_, last_day=to, limit=limit)
    # receipts_of writes each receipt as a dict (doti.viewing.deletions); the model checks and documents that shape.
    receipts = deletions.receipts_of(user, query, now=utcnow())
    return json_response(200, DeletionList(items=[DeletionReceipt(**receipt) for receipt in receipts]))
