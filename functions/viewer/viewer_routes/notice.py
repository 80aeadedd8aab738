"""A site's public notice page and its printable sign (issue 15 points 2 and 3, Art. 2-4).

`GET /p/{public_id}` is public (no session: anyone who scans the sign opens it), a server-rendered HTML page;
`GET /v1/sites/{site_id}/signage` is the owner's download of the sign whose QR code points at that page.
"""

import base64
from pathlib import Path
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from doti import openapi
from doti.clock import utcnow
from doti.viewing import notice, notice_page, signage
from doti.viewing.share_page import Page
from viewer_routes.common import public, session
from viewer_routes.subject_requests import notice_with_form

router = APIGatewayRouter()
public("/p/{public_id}")

_PUBLIC_ID_MAX = 64
# IPAexGothic (IPA Font License, functions/viewer/fonts): the PNG sign's Japanese; SVG and PDF need no font file
JAPANESE_FONT = (
    Path(__file__).resolve().parents[1] / "fonts" / "ipaexg.ttf"
)  # ids are 22 characters; anything much longer names no site


def _html(page: Page) -> Response[str]:
    return Response(
        status_code=page.status, content_type="text/html; charset=utf-8", body=page.html, headers=page.headers()
    )


# Unknown ids and contracts that do not serve get the same 404 page.
@router.get("/p/<public_id>", responses=openapi.pages(200, 404))
def notice_of_site(public_id: str) -> Response[str]:
    found = notice.notice_for(public_id, now=utcnow()) if len(public_id) <= _PUBLIC_ID_MAX else None
    return notice_with_form(found) if found else _html(notice_page.not_found_page())


@router.get(
    "/v1/sites/<site_id>/signage",
    responses=openapi.combine(
        {200: openapi.content(200, {m: {"type": "string", "format": "binary"} for m in signage.PRODUCED.values()})},
        openapi.answers(404, 422),
    ),
)
def site_signage(
    site_id: str,
    format_: Annotated[str, Query(alias="format", max_length=8, description="svg, png or pdf")] = signage.SVG,
) -> Response[str]:
    _, user = session(router)
    media_type = signage.media_type(format_)  # an unproduced format is refused before anything is read
    sign = notice.signage_for(user, site_id, now=utcnow())
    filename = f"doti-sign-{site_id}.{format_}"
    # Sent base64-encoded as text: the route's response validation would read raw bytes (a PDF) as UTF-8.
    response = Response(
        status_code=200,
        content_type=media_type,
        body=base64.b64encode(signage.render(sign, format_, font_path=str(JAPANESE_FONT))).decode(),
        headers={"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{filename}"'},
    )
    response.base64_encoded = True
    return response
