"""Data access: PynamoDB models, S3 keys and the AWS clients, bound to the settings of the running function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from doti.store.aws import CLIENT_LOCK, botocore_session
from doti.store.models import MODEL_TABLES

if TYPE_CHECKING:
    from doti.settings import Settings


def bind_models(settings: Settings) -> None:
    """Point every model at its table and give it a client from the shared botocore session: doti.runtime.init's
    work at cold start, and nothing else's (importing the store binds nothing)."""
    bind_tables({field: getattr(settings, field) for field in MODEL_TABLES.values()}, settings.region)


def bind_tables(tables: Mapping[str, str], region: str) -> None:
    """Bind the models of the given tables (settings field, e.g. "audit_table", to table name); the others keep their
    binding. For bind_models, and for an operator command that reads a few tables of a deployed stack."""
    session = botocore_session()
    with CLIENT_LOCK:
        for model, field in MODEL_TABLES.items():
            if field not in tables:
                continue
            model.Meta.table_name = tables[field]
            model.Meta.region = region
            model._connection = None  # PynamoDB caches a connection per model; a new endpoint or region needs a new one
            connection = model._get_connection().connection
            # PynamoDB would load a fresh botocore session per model; share ours (its thread-local slot is the hook).
            connection._local.session = session
            _ = connection.client
