"""A pytest plugin that records every call the service makes on the audit table (tests/infra/test_audit_iam.py runs
the audit, anchor, purge and job tests under it): moto does not enforce IAM, so this shows that no code path needs
what the roles are denied (UpdateItem, DeleteItem, BatchWriteItem, a transaction's Update or Delete, PartiQL).

    DOTI_AUDIT_CALLS=calls.json python -m pytest -p tests.audit_calls tests/staff/test_audit.py …

The hook is on the service's shared botocore session (PynamoDB and boto3 alike), so a test's own tampering, made
with a boto3 client of its own, is not counted. At the end, the operations and their counts go to $DOTI_AUDIT_CALLS.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

_calls: Counter[str] = Counter()


def _operations(name: str, params: dict[str, Any], table: str) -> list[str]:
    """The operations of one call that touch `table` ("TransactWriteItems.Put", "PartiQL", "PutItem" …)."""
    if name == "TransactWriteItems":
        return [
            f"{name}.{kind}"
            for item in params.get("TransactItems", [])
            for kind, op in item.items()
            if op.get("TableName") == table
        ]
    if name in {"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}:
        return ["PartiQL"] if table in json.dumps(params) else []
    if name in {"BatchWriteItem", "BatchGetItem"}:
        return [name] if table in params.get("RequestItems", {}) else []
    return [name] if params.get("TableName") == table else []


def _record(model: Any, params: dict[str, Any], **_: Any) -> None:
    table = os.environ.get("AUDIT_TABLE")
    if table:
        _calls.update(_operations(model.name, params, table))


def pytest_configure(config: Any) -> None:
    # After tests/conftest.py set the environment (doti must not be imported before it), before any client exists:
    # clients copy the session's handlers when they are made.
    from doti.store.aws import botocore_session

    botocore_session().register("before-parameter-build.dynamodb", _record, unique_id="audit-writes-plugin")


def pytest_sessionfinish(session: Any) -> None:
    path = os.environ.get("DOTI_AUDIT_CALLS")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(dict(_calls), handle, sort_keys=True)
