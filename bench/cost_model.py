"""What a frame, or a page view, costs on AWS (issue 17): measured counts priced by bench/prices.json.

A plain function of its inputs: the bench measures the counts (bench/cases_cost.py), this module only prices them,
so the tests can check it against sums done by hand. Prices are per unit of the table (one request, one byte, one
GB-second); a cost is in US dollars per million units of work (frames, pages) or per camera-month.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PRICES = Path(__file__).with_name("prices.json")
MB = 1024 * 1024
MILLION = 1_000_000

# S3 bills requests by class (DELETE is free); these are the operations doti makes or a browser does with its URLs.
S3_PUT_CLASS = frozenset(
    {"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "PutObjectTagging", "UploadPart"}
)
S3_GET_CLASS = frozenset({"GetObject", "HeadObject", "GetObjectTagging", "SelectObjectContent"})
S3_FREE = frozenset({"DeleteObject", "DeleteObjects"})
# On-demand DynamoDB is billed by request units, not requests: its requests are priced through the units.
BILLED_BY_UNITS = frozenset({"dynamodb"})


@dataclass(frozen=True)
class Price:
    service: str
    unit: str
    usd: float
    per: float  # `usd` buys this many of the unit's base (requests, bytes, GB-seconds)
    read: str
    source: str

    @property
    def each(self) -> float:
        return self.usd / self.per


def load_prices(path: Path = PRICES) -> dict[str, Price]:
    """The price table kept in the repo, by name (`s3_put_requests`, `lambda_gb_seconds`, ...)."""
    table = json.loads(path.read_text(encoding="utf-8"))["prices"]
    return {name: Price(**entry) for name, entry in table.items()}


@dataclass(frozen=True)
class Usage:
    """What one unit of work (one frame stored, one page viewed) consumed, as measured."""

    requests: Mapping[tuple[str, str], float] = field(default_factory=dict)  # (service, operation) -> count
    dynamodb_write_units: float = 0.0
    dynamodb_read_units: float = 0.0
    api_requests: float = 0.0
    lambda_requests: float = 0.0
    lambda_gb_seconds: float = 0.0
    log_bytes: float = 0.0
    transfer_out_bytes: float = 0.0


@dataclass(frozen=True)
class Cost:
    """US dollars by service; `unpriced` names the operations the table has no price for (counted, not priced)."""

    by_service: dict[str, float]
    unpriced: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return sum(self.by_service.values())


@dataclass(frozen=True)
class CameraPlan:
    """The camera of issue 17: one frame every 10 s, frames of 100 KB kept 30 days, a 30-day month."""

    every_s: float = 10.0
    days: float = 30.0
    retention_days: float = 30.0
    frame_bytes: float = 100 * 1024

    @property
    def frames_per_month(self) -> float:
        return self.days * 86_400 / self.every_s

    @property
    def frames_kept(self) -> float:
        """Frames stored at any moment once the camera has run longer than its retention."""
        return self.retention_days * 86_400 / self.every_s


def _request_price(service: str, operation: str) -> str | None:
    """The price-table entry a request is billed by; None when the request itself is free or has no entry."""
    if service == "s3":
        if operation in S3_PUT_CLASS:
            return "s3_put_requests"
        if operation in S3_GET_CLASS:
            return "s3_get_requests"
        return None
    if service == "sqs":
        return "sqs_requests"
    return None


def price_usage(usage: Usage, prices: Mapping[str, Price], units: float = 1.0) -> Cost:
    """The cost of `units` units of work that each consumed `usage`, by service."""
    by_service: dict[str, float] = {}
    unpriced: list[str] = []

    def add(name: str, quantity: float) -> None:
        if quantity:
            price = prices[name]
            by_service[price.service] = by_service.get(price.service, 0.0) + quantity * units * price.each

    for (service, operation), count in sorted(usage.requests.items()):
        name = _request_price(service, operation)
        if name:
            add(name, count)
        elif service not in BILLED_BY_UNITS and not (service == "s3" and operation in S3_FREE):
            unpriced.append(f"{service}:{operation}")
    add("dynamodb_write_units", usage.dynamodb_write_units)
    add("dynamodb_read_units", usage.dynamodb_read_units)
    add("api_requests", usage.api_requests)
    add("lambda_requests", usage.lambda_requests)
    add("lambda_gb_seconds", usage.lambda_gb_seconds)
    add("logs_ingested", usage.log_bytes)
    add("s3_transfer_out", usage.transfer_out_bytes)
    return Cost(by_service, tuple(unpriced))


def per_million(usage: Usage, prices: Mapping[str, Price]) -> Cost:
    """US dollars for a million units of work (frames, pages) that each consumed `usage`, by service."""
    return price_usage(usage, prices, MILLION)


def camera_month(
    frame: Usage,
    prices: Mapping[str, Price],
    *,
    thumbnail_bytes: float,
    index_bytes: float,
    plan: CameraPlan = CameraPlan(),
) -> Cost:
    """US dollars a month for one camera on `plan`: its frames' requests, and storage once retention is full.

    S3 keeps each frame (`plan.frame_bytes`) and its thumbnail; DynamoDB keeps `index_bytes` per frame (its items,
    with the 100 bytes of overhead DynamoDB counts per item). Storage is billed per GB-month (GB = 2^30 bytes).
    """
    cost = price_usage(frame, prices, plan.frames_per_month)
    by_service = dict(cost.by_service)
    months = plan.days / 30.0
    s3_bytes = plan.frames_kept * (plan.frame_bytes + thumbnail_bytes)
    dynamodb_bytes = plan.frames_kept * index_bytes
    by_service["S3 storage"] = s3_bytes * months * prices["s3_storage"].each
    by_service["DynamoDB storage"] = dynamodb_bytes * months * prices["dynamodb_storage"].each
    return Cost(by_service, cost.unpriced)


def write_units(item_bytes: int, *, transactional: bool = False) -> float:
    """On-demand write request units of writing one item: one per KB started, doubled inside a transaction."""
    return math.ceil(max(item_bytes, 1) / 1024) * (2 if transactional else 1)


def read_units(item_bytes: int, *, consistent: bool, transactional: bool = False) -> float:
    """On-demand read request units of reading `item_bytes` (one item, or a Query page's sum): one per 4 KB started
    for a strongly consistent read, half that eventually consistent, double that inside a transaction."""
    units = float(math.ceil(max(item_bytes, 1) / 4096))
    if transactional:
        return units * 2
    return units if consistent else units / 2
