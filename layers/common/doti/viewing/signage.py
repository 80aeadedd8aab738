"""The printable sign of a site (issue 15 point 3): an A4 page with a camera pictogram, the operator, the purposes in
Japanese and English, and a QR code (segno) to the site's public notice page.

One layout, in millimetres on the A4 page, drawn by two renderers:
- SVG, with the text as text: the printer's or browser's fonts draw the Japanese, so nothing is shipped;
- PDF through reportlab, its Japanese in the built-in CID font HeiseiKakuGo-W5 (Adobe-Japan1). The font is named,
  not embedded, as PDF allows for the standard Japanese fonts: a PDF reader draws it with its own Japanese font.

- PNG through Pillow (the documents layer), A4 at 150 dpi, its text drawn with IPAexGothic: a Japanese font file
  the viewer function ships (functions/viewer/fonts, IPA Font License), whose path the caller passes.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from doti.contracts import purposes
from doti.errors import ValidationError
from doti.viewing.notice import Signage

SVG, PDF, PNG = "svg", "pdf", "png"
FORMATS = (SVG, PDF, PNG)
PRODUCED = {SVG: "image/svg+xml", PDF: "application/pdf", PNG: "image/png"}
PNG_DPI = 150  # A4 at 1240 x 1754 pixels: a QR module is about 10 px, sharp when printed
WIDTH_MM, HEIGHT_MM = 210, 297  # A4 portrait
QR_SIZE_MM = 64  # about 1.7 mm a module for a notice URL (version 3, 37 modules with the quiet zone)
_CENTRE = WIDTH_MM / 2
_TEXT_WIDTH_MM = 180
_MAX_PURPOSE_LINES = 8
_PURPOSES_TOP, _PURPOSE_LINE = 145.0, 7.5
# Below the last of the most purpose lines: the code, then three lines of text, still above the page's bottom margin.
_LOWEST_QR_TOP = _PURPOSES_TOP + _MAX_PURPOSE_LINES * _PURPOSE_LINE
_JA_FONT = "HeiseiKakuGo-W5"
_SVG_FONTS = '"Hiragino Sans","Noto Sans CJK JP","Noto Sans JP","Yu Gothic",sans-serif'


@dataclass(frozen=True)
class Text:
    y: float  # the baseline, mm from the top
    size: float  # mm
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    radius: float = 0.0
    fill: str = "#000"


@dataclass(frozen=True)
class Disc:
    cx: float
    cy: float
    r: float
    fill: str


@dataclass(frozen=True)
class Code:
    """The QR code: its dark modules (with the quiet zone of 4 modules) scaled into a `size` square at x, y."""

    x: float
    y: float
    size: float
    matrix: tuple[tuple[bool, ...], ...]


Shape = Text | Box | Disc | Code


def _width(text: str, size: float) -> float:
    """The text's width in mm at `size`, counting a wide (Japanese) character as one em and others as about half."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.55 for ch in text)


def _fit(text: str, size: float, max_width: float = _TEXT_WIDTH_MM) -> str:
    """The text, cut with an ellipsis where it would run past the page's text width."""
    if _width(text, size) <= max_width:
        return text
    while text and _width(text + "…", size) > max_width:
        text = text[:-1]
    return text + "…"


def _pictogram() -> list[Shape]:
    """A camera on a wall mount, facing left: what signs in Japan and elsewhere show for "CCTV"."""
    return [
        Box(62, 18, 96, 52, radius=6, fill="#ffd200"),  # the sign's yellow panel
        Box(88, 30, 46, 20, radius=3),  # the camera's body
        Box(76, 34, 14, 12, radius=2),  # its hood over the lens
        Disc(78, 40, 4, "#ffd200"),  # the lens
        Box(124, 50, 6, 10),  # the arm
        Box(116, 58, 24, 4, radius=1),  # the wall plate
    ]


def _purpose_lines(signage: Signage) -> list[str]:
    notice = signage.notice
    lines = []
    for code in notice.purposes:
        label = purposes.LABELS[code]
        if code == purposes.OTHER and notice.other_texts:
            lines.extend(f"{label['ja']} / {label['en']}: {text}" for text in notice.other_texts)
        else:
            lines.append(f"{label['ja']} / {label['en']}")
    if not lines:
        lines = ["利用目的は掲示のページをご覧ください / See the page for the purposes"]
    if len(lines) > _MAX_PURPOSE_LINES:
        lines = [*lines[: _MAX_PURPOSE_LINES - 1], "ほか / and more: see the page"]
    return lines


def layout(signage: Signage) -> list[Shape]:
    """Everything the sign shows, top to bottom, in millimetres."""
    notice = signage.notice
    shapes: list[Shape] = _pictogram()
    shapes += [
        Text(88, 14, "カメラ作動中", bold=True),
        Text(100, 8, "Cameras in operation", bold=True),
        Text(114, 6, _fit(f"運営者: {notice.operator}", 6)),
        Text(122, 5, _fit(f"Operated by {notice.operator}", 5)),
        Text(136, 5.5, "利用目的 / Purposes", bold=True),
    ]
    y = _PURPOSES_TOP
    for line in _purpose_lines(signage):
        shapes.append(Text(y, 5, _fit(line, 5)))
        y += _PURPOSE_LINE
    import segno  # here: only a sign needs it, not the viewer's cold start

    qr = segno.make(signage.notice_url, error="m")
    matrix = tuple(tuple(bool(module) for module in row) for row in qr.matrix_iter(border=4))
    # The code sits in the middle of the room the purposes leave (none below it when every line is used).
    qr_top = y + (_LOWEST_QR_TOP - y) / 2
    shapes.append(Code(_CENTRE - QR_SIZE_MM / 2, qr_top, QR_SIZE_MM, matrix))
    below = qr_top + QR_SIZE_MM + 5
    shapes += [
        Text(below, 4.5, "保存期間・お問い合わせ・ご請求の方法はこちら"),
        Text(below + 5.5, 4, "Scan for retention, contact and how to make a request"),
        Text(below + 10, 3, _fit(signage.notice_url, 3)),
    ]
    return shapes


def _svg_shape(shape: Shape) -> str:
    if isinstance(shape, Text):
        weight = ' font-weight="bold"' if shape.bold else ""
        return f'<text x="{_CENTRE}" y="{shape.y}" font-size="{shape.size}"{weight}>{escape(shape.text)}</text>'
    if isinstance(shape, Box):
        return (
            f'<rect x="{shape.x}" y="{shape.y}" width="{shape.width}" height="{shape.height}" rx="{shape.radius}" '
            f'fill="{shape.fill}"/>'
        )
    if isinstance(shape, Disc):
        return f'<circle cx="{shape.cx}" cy="{shape.cy}" r="{shape.r}" fill="{shape.fill}"/>'
    # One path of unit squares in module coordinates, scaled: crisp at any print size.
    modules = len(shape.matrix)
    path = "".join(f"M{x} {y}h1v1h-1z" for y, row in enumerate(shape.matrix) for x, dark in enumerate(row) if dark)
    scale = shape.size / modules
    return (
        f'<g transform="translate({shape.x} {shape.y}) scale({scale})"><rect width="{modules}" height="{modules}" '
        f'fill="#fff"/><path d="{path}" fill="#000" shape-rendering="crispEdges"/></g>'
    )


def render_svg(signage: Signage) -> bytes:
    title = f"カメラ作動中 / Cameras in operation: {signage.notice.operator}"
    body = "".join(_svg_shape(shape) for shape in layout(signage))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM}mm" height="{HEIGHT_MM}mm" '
        f'viewBox="0 0 {WIDTH_MM} {HEIGHT_MM}" role="img" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>"
        f'<rect width="{WIDTH_MM}" height="{HEIGHT_MM}" fill="#fff"/>'
        f'<g font-family={quoteattr(_SVG_FONTS)} text-anchor="middle" fill="#000">{body}</g></svg>'
    ).encode()


def render_pdf(signage: Signage) -> bytes:
    # Imported here: only this route needs reportlab (a few hundred ms of import), not every viewer request.
    from reportlab.lib.colors import HexColor
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if _JA_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_JA_FONT))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(WIDTH_MM * mm, HEIGHT_MM * mm), invariant=True)
    page.setTitle(f"カメラ作動中 / Cameras in operation: {signage.notice.operator}")

    def top(y: float) -> float:  # PDF measures from the bottom of the page
        return (HEIGHT_MM - y) * mm

    for shape in layout(signage):
        if isinstance(shape, Text):
            page.setFont(_JA_FONT, shape.size * mm)
            page.setFillColor(HexColor("#000000"))
            page.drawCentredString(_CENTRE * mm, top(shape.y), shape.text)
        elif isinstance(shape, Box):
            page.setFillColor(HexColor(shape.fill))
            page.roundRect(
                shape.x * mm, top(shape.y + shape.height), shape.width * mm, shape.height * mm, shape.radius * mm,
                stroke=0, fill=1,
            )  # fmt: skip
        elif isinstance(shape, Disc):
            page.setFillColor(HexColor(shape.fill))
            page.circle(shape.cx * mm, top(shape.cy), shape.r * mm, stroke=0, fill=1)
        else:
            module = shape.size / len(shape.matrix)
            page.setFillColor(HexColor("#000000"))
            for y, row in enumerate(shape.matrix):
                for x, dark in enumerate(row):
                    if dark:
                        left, upper = shape.x + x * module, shape.y + y * module
                        page.rect(left * mm, top(upper + module), module * mm, module * mm, stroke=0, fill=1)
    page.showPage()
    page.save()
    return out.getvalue()


def render_png(signage: Signage, font_path: str) -> bytes:
    # Imported here: only this route needs Pillow (the documents layer), not every viewer request.
    from PIL import Image, ImageDraw, ImageFont

    scale = PNG_DPI / 25.4  # pixels per mm

    def px(value: float) -> int:
        return round(value * scale)

    image = Image.new("RGB", (px(WIDTH_MM), px(HEIGHT_MM)), "#ffffff")
    draw = ImageDraw.Draw(image)
    fonts: dict[int, ImageFont.FreeTypeFont] = {}
    for shape in layout(signage):
        if isinstance(shape, Text):
            size = px(shape.size)
            font = fonts.setdefault(size, ImageFont.truetype(font_path, size))
            stroke = max(1, size // 28) if shape.bold else 0  # IPAexGothic has no bold face: a stroke thickens it
            draw.text(
                (px(_CENTRE), px(shape.y)), shape.text, font=font, fill="#000000", anchor="ms",
                stroke_width=stroke, stroke_fill="#000000",
            )  # fmt: skip
        elif isinstance(shape, Box):
            box = (px(shape.x), px(shape.y), px(shape.x + shape.width), px(shape.y + shape.height))
            draw.rounded_rectangle(box, radius=px(shape.radius), fill=shape.fill)
        elif isinstance(shape, Disc):
            box = (px(shape.cx - shape.r), px(shape.cy - shape.r), px(shape.cx + shape.r), px(shape.cy + shape.r))
            draw.ellipse(box, fill=shape.fill)
        else:
            module = shape.size / len(shape.matrix)
            draw.rectangle((px(shape.x), px(shape.y), px(shape.x + shape.size), px(shape.y + shape.size)), fill="#fff")
            for y, row in enumerate(shape.matrix):
                for x, dark in enumerate(row):
                    if dark:
                        left, upper = shape.x + x * module, shape.y + y * module
                        draw.rectangle(
                            (px(left), px(upper), px(left + module) - 1, px(upper + module) - 1), fill="#000"
                        )
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(PNG_DPI, PNG_DPI), optimize=True)
    return out.getvalue()


def media_type(format_: str) -> str:
    """The media type of a sign in `format_`; a format that is not produced is a 422 naming `format`."""
    if format_ not in PRODUCED:
        produced = ", ".join(PRODUCED)
        raise ValidationError(f"format must be one of {produced}: {format_!r} is not produced", field="format")
    return PRODUCED[format_]


def render(signage: Signage, format_: str, *, font_path: str | None = None) -> bytes:
    """The sign in `format_`; a PNG needs the Japanese font's path (the viewer ships it)."""
    media_type(format_)
    if format_ == PNG:
        if font_path is None:
            raise ValueError("a PNG sign needs the Japanese font's path")
        return render_png(signage, font_path)
    return render_svg(signage) if format_ == SVG else render_pdf(signage)
