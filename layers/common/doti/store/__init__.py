"""Data access: PynamoDB models, S3 keys and the AWS clients, bound to the settings of the running function."""

from __future__ import annotations

from typing import TYPE_CHECKING

from doti.store.models import MODEL_TABLES

if TYPE_CHECKING:
    from doti.settings import Settings


def bind_models(settings: Settings) -> None:
    """Point every model at its table; drop cached connections so a changed endpoint or region takes effect."""
    for model, field in MODEL_TABLES.items():
        model.Meta.table_name = getattr(settings, field)
        model.Meta.region = settings.region
        model._connection = None
