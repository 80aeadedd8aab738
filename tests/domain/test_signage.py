"""The sign's layout (doti.viewing.signage): everything on the A4 page whatever the operator and purposes, long text
cut rather than run off the page, and the formats it answers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from doti.contracts import purposes
from doti.errors import ValidationError
from doti.viewing import signage
from doti.viewing.notice import CameraNotice, Signage, SiteNotice

URL = "https://doti.example/p/Xq3v9KcEXAMPLEpublicId"
FONT = Path(__file__).resolve().parents[2] / "functions" / "viewer" / "fonts" / "ipaexg.ttf"


def sign(operator: str = "Sakura Bakery Ltd.", *cameras: CameraNotice) -> Signage:
    notice = SiteNotice(
        site_name="Main store", operator=operator, retention_days=30, inquiry_contact=None, cameras=tuple(cameras)
    )
    return Signage(notice=notice, notice_url=URL)


def camera(codes: set[str], other: str | None = None) -> CameraNotice:
    return CameraNotice(
        name="Till", purposes=purposes.ordered(codes), other_text=other, coverage=None, people_filmed=True
    )


def texts(shapes: list[signage.Shape]) -> list[str]:
    return [s.text for s in shapes if isinstance(s, signage.Text)]


def bounds(shape: signage.Shape) -> tuple[float, float, float, float]:
    """left, top, right, bottom in mm (a text's top is its baseline less its size)."""
    if isinstance(shape, signage.Text):
        half = signage._width(shape.text, shape.size) / 2
        return signage._CENTRE - half, shape.y - shape.size, signage._CENTRE + half, shape.y
    if isinstance(shape, signage.Box):
        return shape.x, shape.y, shape.x + shape.width, shape.y + shape.height
    if isinstance(shape, signage.Disc):
        return shape.cx - shape.r, shape.cy - shape.r, shape.cx + shape.r, shape.cy + shape.r
    return shape.x, shape.y, shape.x + shape.size, shape.y + shape.size


FULLEST = sign(
    "株式会社" + "とても長い名前の運営会社" * 10,
    camera(set(purposes.PURPOSES), other="配送の確認" * 20),
    camera({"other"}, other="Delivery checks at the back door"),
    camera({"other"}, other="Queue length at the tills"),
    camera({"other"}, other="Stock on the shelves"),
)


@pytest.mark.parametrize("case", [sign(), sign("A", camera({"safety"})), FULLEST], ids=["none", "one", "fullest"])
def test_everything_on_the_sign_lies_within_the_a4_page_with_a_margin(case: Signage):
    for shape in signage.layout(case):
        left, top, right, bottom = bounds(shape)
        assert left >= 10, shape
        assert right <= signage.WIDTH_MM - 10, shape
        assert top >= 10, shape
        assert bottom <= signage.HEIGHT_MM - 8, shape


def test_the_qr_code_never_overlaps_the_text_above_or_below_it():
    for case in (sign(), FULLEST):
        shapes = signage.layout(case)
        (code,) = [s for s in shapes if isinstance(s, signage.Code)]
        for text in (s for s in shapes if isinstance(s, signage.Text)):
            _, top, _, bottom = bounds(text)
            assert bottom <= code.y or top >= code.y + code.size, text


def test_long_text_is_cut_with_an_ellipsis_and_many_purposes_end_in_and_more():
    lines = texts(signage.layout(FULLEST))
    operator_line = next(line for line in lines if line.startswith("運営者: 株式会社"))
    assert operator_line.endswith("…")
    first = lines.index("利用目的 / Purposes") + 1
    assert len(lines[first : lines.index("保存期間・お問い合わせ・ご請求の方法はこちら")]) == signage._MAX_PURPOSE_LINES
    assert "その他 / Other: Delivery checks at the back door" in lines
    assert "ほか / and more: see the page" in lines


def test_the_purposes_are_printed_in_japanese_and_english_in_the_lists_order():
    lines = texts(signage.layout(sign("A", camera({"safety", "crime_prevention"}), camera({"staffing"}))))
    printed = [
        line for line in lines if line in {"防犯 / Crime prevention", "人員配置 / Staffing", "安全管理 / Safety"}
    ]
    assert printed == ["防犯 / Crime prevention", "人員配置 / Staffing", "安全管理 / Safety"]


def test_a_sign_without_registered_purposes_sends_the_reader_to_the_page():
    assert "利用目的は掲示のページをご覧ください / See the page for the purposes" in texts(signage.layout(sign()))


def test_svg_text_is_escaped():
    svg = signage.render_svg(sign('<script>alert(1)</script>&"'))
    assert b"<script>" not in svg
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in svg


@pytest.mark.parametrize("format_", ["jpeg", "gif", "SVG", "svg "])
def test_a_format_not_produced_is_refused_naming_format(format_: str):
    with pytest.raises(ValidationError) as refused:
        signage.media_type(format_)
    assert refused.value.details == {"field": "format"}


def test_a_png_is_an_a4_page_at_150_dpi_whose_qr_code_reads_as_the_page_and_whose_japanese_is_drawn():
    image = cv2.imdecode(np.frombuffer(signage.render(sign(), "png", font_path=str(FONT)), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (1754, 1240)  # A4 at 150 dpi
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert text == URL
    # the title's band holds dark pixels: the Japanese is drawn, not left blank (no font would raise or draw boxes)
    top, bottom = (round(mm * signage.PNG_DPI / 25.4) for mm in (76, 90))  # below the pictogram, around the title
    title = image[top:bottom, :]
    assert (title < 128).any()


def test_a_png_without_the_font_is_a_programming_error_not_a_blank_sign():
    with pytest.raises(ValueError, match="font"):
        signage.render(sign(), "png")


def test_svg_pdf_and_png_are_produced():
    assert signage.media_type("svg") == "image/svg+xml"
    assert signage.media_type("pdf") == "application/pdf"
    assert signage.media_type("png") == "image/png"
    assert signage.render(sign(), "pdf").startswith(b"%PDF-")
