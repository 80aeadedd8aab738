"""The purposes a camera may be used for (Art. 2-4, issue 15): a fixed list, named in Japanese and English.

The customer handles camera images as personal information; the Camera Image Utilisation Guidebook asks them to say
why each camera records. The codes are part of the API (`PUT .../purposes`); the labels are what the public notice
page, the printed sign and the viewer show. `other` needs a short text of its own.
"""

from __future__ import annotations

from types import MappingProxyType

OTHER = "other"
# In the order they are shown.
PURPOSES: tuple[str, ...] = ("crime_prevention", "store_operations", "staffing", "customer_flow", "safety", OTHER)
LABELS = MappingProxyType(
    {
        "crime_prevention": MappingProxyType({"ja": "防犯", "en": "Crime prevention"}),
        "store_operations": MappingProxyType({"ja": "店舗運営", "en": "Store operations"}),
        "staffing": MappingProxyType({"ja": "人員配置", "en": "Staffing"}),
        "customer_flow": MappingProxyType({"ja": "来店者の動線把握", "en": "Customer flow"}),
        "safety": MappingProxyType({"ja": "安全管理", "en": "Safety"}),
        OTHER: MappingProxyType({"ja": "その他", "en": "Other"}),
    }
)


def ordered(codes: frozenset[str] | set[str] | None) -> tuple[str, ...]:
    """`codes` in the order of PURPOSES (stored as a set, shown in one order everywhere)."""
    chosen = codes or frozenset()
    return tuple(code for code in PURPOSES if code in chosen)
