"""The password hash's cost (doti.settings.password_scrypt_n): the production cost unless a test lowers it.

The suite hashes at N = 2**10 (tests/conftest.py) to save ~2,000 hashes of 50 ms each; these tests show that nothing
else depends on the cost: a hash records its parameters, so hashes made at the production cost sign in under the
suite's, and the other way round, and an unknown id costs what the cost in force costs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from doti import runtime
from doti.auth import customer
from doti.settings import PRODUCTION_SCRYPT_N
from doti.store import registry as registry_store
from tests.support import assert_error
from tests.support.viewer import add_user, login, login_response


@pytest.fixture
def production_cost(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment as deployed: PASSWORD_SCRYPT_N unset (the `aws` fixture rebinds the suite's after the test)."""
    monkeypatch.delenv("PASSWORD_SCRYPT_N")
    runtime.reset()
    runtime.init()
    yield
    runtime.reset()


@pytest.fixture
def scrypt_costs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The N of every scrypt computed (the real function still runs)."""
    costs: list[int] = []
    real = hashlib.scrypt

    def counting(password: bytes, **kwargs: int) -> bytes:
        costs.append(kwargs["n"])
        return real(password, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return costs


def test_deployed_new_passwords_cost_the_production_n_and_sign_in(world, production_cost, scrypt_costs):
    # Given a user made with PASSWORD_SCRYPT_N unset, as every deployed function runs
    login_id, password = add_user(world)

    # When they sign in, and an unknown id is tried
    token = login(login_id, password)
    assert_error(login_response(f"nobody-{world.contract_id}", password), 401, "unauthorized")

    # Then the stored hash, its verification and the unknown id's dummy all cost 2**14
    assert token
    assert registry_store.get_user(login_id).password_hash.startswith(f"scrypt${PRODUCTION_SCRYPT_N}$8$1$")
    assert scrypt_costs == [PRODUCTION_SCRYPT_N] * 3


def test_a_hash_of_either_cost_signs_in_under_the_other(world, monkeypatch):
    # Given one user hashed at the production cost and one at the suite's
    monkeypatch.delenv("PASSWORD_SCRYPT_N")
    runtime.reset()
    deployed = add_user(world)
    monkeypatch.setenv("PASSWORD_SCRYPT_N", "1024")
    runtime.reset()
    suite = add_user(world)

    # When both sign in under the suite's cost: each hash is verified with the parameters it records
    assert customer.verify_password(deployed[1], registry_store.get_user(deployed[0]).password_hash)
    assert login(*deployed)
    assert login(*suite)
    assert registry_store.get_user(suite[0]).password_hash.startswith("scrypt$1024$8$1$")
