"""bench.cost_model: measured counts priced by the repo's price table, checked against sums done by hand.

The counts here are written out, not measured: issue 17's own count of a direct frame, and small made-up usages whose
cost is easy to add up by hand. bench/cases_cost.py feeds the same functions measured counts.
"""

from __future__ import annotations

import pytest

from bench.cost_model import CameraPlan, Usage, camera_month, load_prices, per_million, read_units, write_units

PRICES = load_prices()
GB = 2**30


def test_the_table_holds_the_list_prices_issue_17_quotes_with_their_date_and_source():
    quoted = {
        "s3_put_requests": 5.0,
        "api_requests": 3.5,
        "dynamodb_write_units": 0.625,
        "dynamodb_read_units": 0.125,
        "lambda_gb_seconds": 0.0000133334,
        "lambda_requests": 0.2,
        "logs_ingested": 0.5,
        "s3_storage": 0.023,
        "dynamodb_storage": 0.25,
        "sqs_requests": 0.4,
    }
    for name, usd in quoted.items():
        assert PRICES[name].usd == usd, name
        assert "issue 17" in PRICES[name].source, name
    for price in PRICES.values():
        assert price.read == "2026-12"
        assert "aws.amazon.com/" in price.source
        assert price.service
        assert price.unit


def test_issue_17s_direct_frame_costs_what_the_issue_adds_up():
    # Given issue 17's count of one direct frame: 2 PutObject; 4 GetItem (3 eventually consistent, 1 strong);
    # a claim PutItem (1 WRU), a 3-item transaction (2 WRU each) and a camera UpdateItem (1 WRU); one API and Lambda
    # request of 90 ms at 1024 MB
    frame = Usage(
        requests={
            ("s3", "PutObject"): 2,
            ("dynamodb", "GetItem"): 4,
            ("dynamodb", "PutItem"): 1,
            ("dynamodb", "TransactWriteItems"): 1,
            ("dynamodb", "UpdateItem"): 1,
        },
        dynamodb_write_units=1 + 3 * 2 + 1,
        dynamodb_read_units=3 * 0.5 + 1,
        api_requests=1,
        lambda_requests=1,
        lambda_gb_seconds=1.0 * 0.090,
    )

    # When a million of them are priced
    cost = per_million(frame, PRICES)

    # Then each service costs what the issue's prices give, by hand
    assert cost.by_service["S3"] == pytest.approx(2 * 5.00)
    assert cost.by_service["API Gateway"] == pytest.approx(3.50)
    assert cost.by_service["DynamoDB"] == pytest.approx(8 * 0.625 + 2.5 * 0.125)  # 5.3125
    assert cost.by_service["Lambda"] == pytest.approx(0.20 + 90_000 * 0.0000133334)  # 1.400006
    assert set(cost.by_service) == {"S3", "API Gateway", "DynamoDB", "Lambda"}
    assert cost.total == pytest.approx(10.00 + 3.50 + 5.3125 + 1.400006)
    assert cost.unpriced == ()


def test_s3_requests_are_priced_by_class_deletes_are_free_and_unknown_services_are_named_not_priced():
    usage = Usage(
        requests={
            ("s3", "GetObject"): 60,
            ("s3", "DeleteObject"): 1,
            ("s3", "PostObject"): 1,
            ("sqs", "SendMessage"): 2,
            ("kms", "Decrypt"): 1,
        },
        log_bytes=GB / 1_000_000,  # a GB of logs over the million
        transfer_out_bytes=2 * GB / 1_000_000,
    )

    cost = per_million(usage, PRICES)

    assert cost.by_service["S3"] == pytest.approx(60 * 0.40 + 5.00)
    assert cost.by_service["SQS"] == pytest.approx(2 * 0.40)
    assert cost.by_service["CloudWatch Logs"] == pytest.approx(0.50)
    assert cost.by_service["Data transfer out"] == pytest.approx(2 * 0.09)
    assert cost.unpriced == ("kms:Decrypt",)


def test_a_camera_month_is_its_frames_requests_and_the_storage_of_a_full_retention():
    # Given a frame that costs one PUT, a 2 KiB thumbnail and 1,000 bytes of index items, on issue 17's camera:
    # one frame every 10 s (259,200 in 30 days), 100 KB frames kept 30 days
    frame = Usage(requests={("s3", "PutObject"): 1})

    cost = camera_month(frame, PRICES, thumbnail_bytes=2048, index_bytes=1000)

    assert cost.by_service["S3"] == pytest.approx(259_200 * 5.00 / 1_000_000)  # 1.296
    assert cost.by_service["S3 storage"] == pytest.approx(259_200 * (102_400 + 2048) / GB * 0.023)  # 0.580
    assert cost.by_service["DynamoDB storage"] == pytest.approx(259_200 * 1000 / GB * 0.25)  # 0.060
    assert cost.total == pytest.approx(1.296 + 259_200 * 104_448 / GB * 0.023 + 259_200_000 / GB * 0.25)


def test_a_shorter_retention_keeps_fewer_frames_but_the_requests_stay_the_month_s():
    frame = Usage(requests={("s3", "PutObject"): 1})
    plan = CameraPlan(retention_days=7)

    cost = camera_month(frame, PRICES, thumbnail_bytes=0, index_bytes=0, plan=plan)

    assert plan.frames_per_month == 259_200
    assert plan.frames_kept == 7 * 8640
    assert cost.by_service["S3"] == pytest.approx(1.296)
    assert cost.by_service["S3 storage"] == pytest.approx(60_480 * 102_400 / GB * 0.023)


@pytest.mark.parametrize(
    ("item_bytes", "transactional", "units"),
    [(0, False, 1), (1024, False, 1), (1025, False, 2), (700, True, 2), (2100, True, 6)],
)
def test_write_units_are_one_per_kilobyte_started_and_doubled_in_a_transaction(item_bytes, transactional, units):
    assert write_units(item_bytes, transactional=transactional) == units


@pytest.mark.parametrize(
    ("item_bytes", "consistent", "transactional", "units"),
    [
        (100, False, False, 0.5),
        (4096, True, False, 1),
        (4097, False, False, 1),
        (4097, True, False, 2),
        (100, True, True, 2),
    ],
)
def test_read_units_are_one_per_4_kilobytes_halved_eventually_consistent_doubled_in_a_transaction(
    item_bytes, consistent, transactional, units
):
    assert read_units(item_bytes, consistent=consistent, transactional=transactional) == units
