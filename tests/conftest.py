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
)

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from doti import runtime
from doti.auth.staff import create_staff_key
from doti.clock import utcnow
from doti.settings import get_settings
from doti.store.aws import boto3_session, botocore_session
from infra.provision import Provisioned, provision
from infra.template import load_template
from tests.support import World, make_world

# The deployment's PublicBaseUrl in tests: every link the service hands out starts with it (issue 10, defect 7).
PUBLIC_BASE_URL = "https://doti.test"


@pytest.fixture(scope="session")
def template() -> dict:
    return load_template()


@pytest.fixture
def aws(template: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[Provisioned]:
    """Every bucket, table, queue and key of template.yaml in moto, and the functions' environment set."""
    with mock_aws():
        provisioned = provision(template, session=boto3_session(), parameters={"PublicBaseUrl": PUBLIC_BASE_URL})
        for name, value in provisioned.environment().items():
            if name != "POWERTOOLS_SERVICE_NAME":
                monkeypatch.setenv(name, value)
        runtime.reset()
        parameters.clear_caches()  # Powertools caches parameter values per process; each test has its own moto
        get_settings()
        yield provisioned
    runtime.reset()
    parameters.clear_caches()


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
    """Every AWS call made through the shared botocore session (boto3 and PynamoDB alike) as (operation, params).

    Clients copy the session's handlers when they are made, so the clients are made again after registering.
    """
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    session = botocore_session()
    session.register("before-parameter-build", record, unique_id="test-aws-calls")
    runtime.reset()
    get_settings()
    yield calls
    session.unregister("before-parameter-build", unique_id="test-aws-calls")
    runtime.reset()
    get_settings()
