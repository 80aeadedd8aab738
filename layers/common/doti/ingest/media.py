"""Media types as requests declare them in Content-Type. Pure."""

from __future__ import annotations


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value, without parameters, lower-cased: "Image/JPEG; q=1" -> "image/jpeg";
    "" when there is none."""
    return (content_type or "").split(";", 1)[0].strip().lower()
