"""One moto per test process, with template.yaml's resources provisioned once, and the wipe that empties it.

Provisioning the template into moto (tables, buckets, queues, keys, parameters) and binding the settings' models
costs seconds; the tests of a process share one provisioned moto, and each test makes its own tenants (make_world:
a new contract, site, camera, device and user, with fresh ids), so tests cannot see each other's data through the
service. A test that reads beyond its tenant (a job that walks every contract or every due work item, a count of
every mail SES sent or of every message in a queue) is marked `isolated`: the moto is wiped before it.

The wipe empties every table, bucket, queue and SES outbox straight in moto's backends (the resources stay), in a
millisecond. A test that needs a moto of its own (a `mock_aws()` of its own, as the fault stack does) releases the
shared one first (`SHARED_MOTO.release()`); it is made again when the next test asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from moto.core.models import MockAWS
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import s3_backends
from moto.ses.models import ses_backends
from moto.sqs.models import sqs_backends

from doti import runtime
from doti.store.aws import boto3_session
from infra.expiry import forget_tags_of_deleted_objects
from infra.moto_memory import lean_transactions, untracked_instances
from infra.provision import ACCOUNT_ID, Provisioned, provision
from infra.template import load_template

REGION = "us-east-1"

# The deployment's PublicBaseUrl in tests: every link the service hands out starts with it (issue 10, defect 7).
PUBLIC_BASE_URL = "https://doti.test"


def wipe_backends() -> None:
    """Empty every table, bucket, queue and SES outbox of the process's moto; the resources themselves stay, as the
    template made them (a test that turned versioning on leaves the next one an unversioned bucket again)."""
    for table in dynamodb_backends[ACCOUNT_ID][REGION].tables.values():
        table.items.clear()
    for bucket in s3_backends[ACCOUNT_ID]["aws"].buckets.values():
        # template.yaml versions only the Object Lock bucket (which requires it)
        bucket.versioning_status = "Enabled" if bucket.object_lock_enabled else None
        for key in bucket.keys.values():
            if hasattr(key, "dispose"):  # a versioned bucket's delete marker holds no data to free
                key.dispose()
        bucket.keys.clear()
        bucket.multiparts.clear()
    forget_tags_of_deleted_objects(ACCOUNT_ID)  # moto keeps a deleted object's tags; the objects are all gone now
    for queue in sqs_backends[ACCOUNT_ID][REGION].queues.values():
        queue._messages.clear()
        queue._pending_messages.clear()
        queue.deleted_messages.clear()
    outbox = ses_backends[ACCOUNT_ID][REGION]
    outbox.sent_messages.clear()
    outbox.sent_message_count = 0


class SharedMoto:
    """The process's moto with the template provisioned, and the functions' environment in os.environ."""

    def __init__(self) -> None:
        self._exits: ExitStack | None = None
        self._saved_environment: dict[str, str | None] = {}
        self.provisioned: Provisioned | None = None

    @property
    def active(self) -> bool:
        # Another mock_aws that started and stopped while ours was released would have reset moto's backends.
        return self._exits is not None and MockAWS._nested_count > 0

    def ensure(self, template: Mapping[str, Any] | None = None) -> Provisioned:
        """The provisioned moto, made on first use (and again after a release)."""
        if self.active and self.provisioned is not None:
            return self.provisioned
        self.release()
        exits = ExitStack()
        exits.enter_context(mock_aws())
        exits.enter_context(untracked_instances())  # moto would keep every object of the session for its dashboard
        exits.enter_context(lean_transactions())  # and copy whole tables, which grow over a session, per transaction
        self._exits = exits
        template = template if template is not None else load_template()
        provisioned = provision(template, session=boto3_session(), parameters={"PublicBaseUrl": PUBLIC_BASE_URL})
        for name, value in provisioned.environment().items():
            if name != "POWERTOOLS_SERVICE_NAME":
                self._saved_environment.setdefault(name, os.environ.get(name))
                os.environ[name] = value
        self.provisioned = provisioned
        self.forget_process_state()
        return provisioned

    def forget_process_state(self) -> None:
        """Settings, clients and cached parameter values built again, as in a new execution environment."""
        runtime.reset()
        parameters.clear_caches()
        runtime.init()

    def release(self) -> None:
        """Stop the shared moto (its data goes) and put the environment back, e.g. for a test with its own moto."""
        if self._exits is None:
            return
        exits, self._exits, self.provisioned = self._exits, None, None
        exits.close()
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}
        runtime.reset()
        parameters.clear_caches()


SHARED_MOTO = SharedMoto()
