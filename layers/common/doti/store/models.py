"""PynamoDB models. Only doti.store and the domain modules' data-access functions touch them.

Table names are bound at cold start from Settings (see `bind_models`); key schemas mirror template.yaml,
and a test checks that they agree.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

UNBOUND = "unbound-call-doti.settings.get_settings"


class _ByContract(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_contract"
        projection = AllProjection()

    contract_id = UnicodeAttribute(hash_key=True)


class ContractModel(Model):
    class Meta:
        table_name = UNBOUND

    contract_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    state = UnicodeAttribute()
    contact_email = UnicodeAttribute()
    security_contract_id = UnicodeAttribute(null=True)
    retention_days = NumberAttribute()
    signed_url_ttl = NumberAttribute()
    max_object_bytes = NumberAttribute()
    max_pixels = NumberAttribute()
    monthly_byte_quota = NumberAttribute()
    service_start = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class SiteModel(Model):
    class Meta:
        table_name = UNBOUND

    site_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    name = UnicodeAttribute()
    address = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    by_contract = _ByContract()


class CameraModel(Model):
    class Meta:
        table_name = UNBOUND

    camera_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_frame_id = UnicodeAttribute(null=True)
    by_contract = _ByContract()


class DeviceModel(Model):
    class Meta:
        table_name = UNBOUND

    device_id = UnicodeAttribute(hash_key=True)
    contract_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute()  # active | revoked
    secret_ciphertext = BinaryAttribute(legacy_encoding=False)
    created_at = UTCDateTimeAttribute()
    by_contract = _ByContract()


class UserModel(Model):
    """One item per person; the login id is the key, so it is unique across the whole system (Art. 7-11)."""

    class Meta:
        table_name = UNBOUND

    login_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()  # owner | manager | viewer
    site_ids = UnicodeSetAttribute(null=True)
    password_hash = UnicodeAttribute()
    failed_logins = NumberAttribute(default=0)
    locked_until = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    by_contract = _ByContract()


class SessionModel(Model):
    class Meta:
        table_name = UNBOUND

    token_hash = UnicodeAttribute(hash_key=True)
    login_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute()  # epoch seconds; the table's TTL attribute


class StaffKeyModel(Model):
    class Meta:
        table_name = UNBOUND

    key_hash = UnicodeAttribute(hash_key=True)
    staff_id = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()  # operator | admin
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)


class FrameModel(Model):
    """The frame index: one key range per camera, sorted by capture time through the frame id."""

    class Meta:
        table_name = UNBOUND

    camera_id = UnicodeAttribute(hash_key=True)
    frame_id = UnicodeAttribute(range_key=True)
    contract_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    device_id = UnicodeAttribute()
    device_frame_id = UnicodeAttribute()
    captured_at = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    width = NumberAttribute()
    height = NumberAttribute()
    sha256 = UnicodeAttribute()
    object_key = UnicodeAttribute()
    thumb_key = UnicodeAttribute()
    thumb_size = NumberAttribute()
    thumb_width = NumberAttribute()
    thumb_height = NumberAttribute()
    retention_class = UnicodeAttribute()
    expires_at = NumberAttribute()  # epoch seconds; the table's TTL attribute


# model -> the Settings field that names its table
MODEL_TABLES: dict[type[Model], str] = {
    ContractModel: "contracts_table",
    SiteModel: "sites_table",
    CameraModel: "cameras_table",
    DeviceModel: "devices_table",
    UserModel: "users_table",
    SessionModel: "sessions_table",
    StaffKeyModel: "staff_keys_table",
    FrameModel: "frames_table",
}
