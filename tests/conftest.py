"""Shared fixtures: moto in-process with the template's resources, and factories for registry entities."""

from __future__ import annotations

import os

# Before anything creates a boto3 client: fake credentials, no endpoint (moto in-process), no X-Ray.
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="doti",
    POWERTOOLS_SERVICE_NAME="doti-test",
    # scrypt at N=2**10 instead of 2**14: 16x cheaper per hash for ~2,000 logins and users (tests/infra checks that
    # no deployed function sets it, and test_password_cost that hashes made at either cost work alike).
    PASSWORD_SCRYPT_N="1024",
)

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from doti import runtime
from doti.auth.staff import create_staff_key
from doti.clock import utcnow
from doti.ingest.clip_encoding import InProcessClipEncoder
from doti.settings import Settings
from infra.provision import Provisioned
from infra.template import load_template
from tests.support import World, make_world
from tests.support.hooks import botocore_hook
from tests.support.ingest import aws_faults  # noqa: F401 - a fixture: AWS calls failed or answered stale on purpose
from tests.support.moto import PUBLIC_BASE_URL, SHARED_MOTO, wipe_backends

# No clip function to invoke here (moto's Lambda needs Docker): masked clips are encoded in this process, through the
# same staging key as the deployed clip function (doti.ingest.clip_encoding).
runtime.encode_clips_in_process(InProcessClipEncoder)


@pytest.fixture(scope="session")
def template() -> dict:
    return load_template()


@pytest.fixture(scope="session")
def shared_aws(template: dict) -> Iterator[Provisioned]:
    """The process's moto with every bucket, table, queue and key of template.yaml, provisioned once (made again
    after a test that needed a moto of its own), and the functions' environment in os.environ."""
    yield SHARED_MOTO.ensure(template)
    SHARED_MOTO.release()


_last_module: list[str] = [""]


@pytest.fixture
def aws(shared_aws: Provisioned, template: dict, request: pytest.FixtureRequest) -> Iterator[Provisioned]:
    """The shared moto, for a test that makes its own tenants (world, world_factory): their ids are new, so what
    other tests stored is never theirs. A test marked `isolated` (it reads beyond its tenants: a job walking every
    contract or due item, every mail sent, every message queued) gets it emptied first; so does each test module's
    first test, which keeps the tables as small as a module makes them."""
    provisioned = SHARED_MOTO.ensure(template)
    module = request.node.module.__name__
    if request.node.get_closest_marker("isolated") or module != _last_module[0]:
        wipe_backends()
        _last_module[0] = module
    parameters.clear_caches()  # Powertools keeps parameter values for minutes of real time
    if runtime.init() != Settings.from_env(os.environ):  # a test before changed the environment and kept the cache
        SHARED_MOTO.forget_process_state()
    yield provisioned
    parameters.clear_caches()


@pytest.fixture
def own_moto() -> None:
    """For a test that starts a moto of its own: the shared one is stopped first (made again when next needed)."""
    SHARED_MOTO.release()


@pytest.fixture
def public_base_url(aws: Provisioned) -> str:
    """The public base URL the test deployment is configured with."""
    return PUBLIC_BASE_URL


@pytest.fixture
def world_factory(aws: Provisioned) -> Callable[..., World]:
    """Creates a contract with a site, camera, device and owner user; call it again for another tenant."""
    return make_world


@pytest.fixture
def operator_key(aws: Provisioned) -> str:
    """A staff key with the operator role (the routine role; the world's own key is an admin's)."""
    _, key = create_staff_key("Taro Operator", "operator", utcnow())
    return key


@pytest.fixture
def world(world_factory: Callable[..., World]) -> World:
    return world_factory()


@pytest.fixture
def aws_calls(aws: Provisioned) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every AWS call made through the shared botocore session (boto3 and PynamoDB alike) as (operation, params)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    with botocore_hook("before-parameter-build", record, "test-aws-calls"):
        yield calls


# The modules that start processes (a pytest under a shifted clock, a local stack, Chromium) are handed out first:
# xdist's loadfile gives modules to the workers in collection order, and one of them last would leave one worker
# finishing it alone while the other has nothing left. Within each group the order stays as collected.
_FIRST = ("tests/test_dates.py", "tests/local_stack/", "tests/browser/")


def _group(item: pytest.Item) -> int:
    return next((rank for rank, prefix in enumerate(_FIRST) if item.nodeid.startswith(prefix)), len(_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_group)
