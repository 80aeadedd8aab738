"""Domain errors. Each carries the SPEC §10 code and HTTP status; handlers map them in one place (doti.http)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class DotiError(Exception):
    """Base of every error the domain raises on purpose.

    `retry_at` is when retrying can succeed (a quota's reset); the HTTP edge sends it as `Retry-After` seconds.
    """

    code = "internal_error"
    status = 500

    def __init__(self, message: str, *, retry_at: datetime | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.retry_at = retry_at
        self.details = details


class Unauthorized(DotiError):
    code, status = "unauthorized", 401


class SignatureExpired(DotiError):
    code, status = "signature_expired", 401


class Forbidden(DotiError):
    code, status = "forbidden", 403


class ContractNotStarted(DotiError):
    code, status = "contract_not_started", 403


class ContractSuspended(DotiError):
    code, status = "contract_suspended", 403


class ContractTerminated(DotiError):
    code, status = "contract_terminated", 403


class NotFound(DotiError):
    code, status = "not_found", 404


class Conflict(DotiError):
    code, status = "conflict", 409


class PayloadTooLarge(DotiError):
    code, status = "payload_too_large", 413


class UnsupportedMediaType(DotiError):
    code, status = "unsupported_media_type", 415


class ValidationError(DotiError):
    code, status = "validation_error", 422


class CorruptImage(DotiError):
    code, status = "corrupt_image", 422


class AccountLocked(DotiError):
    code, status = "account_locked", 423


class QuotaExceeded(DotiError):
    code, status = "quota_exceeded", 429


class RateLimited(DotiError):
    code, status = "rate_limited", 429


class StorageError(DotiError):
    """An AWS call failed in a way the caller cannot fix; surfaces as 503 so clients retry."""

    code, status = "storage_unavailable", 503


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON error shape of SPEC §10."""
    return {"error": {"code": code, "message": message, "details": details or {}}}
