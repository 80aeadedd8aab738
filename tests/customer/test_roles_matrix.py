"""Every customer route against roles, tenants and contract states (SPEC §2, §3, §10, §12).

The routes come from template.yaml's ViewerFunction events; ROUTES holds one entry per route: PUBLIC, or a Case
with the permission it needs (doti.accounts.roles), the contract states that serve it, its success status and a request
builder. A route without an entry fails ("add a case"), so a new route cannot skip these checks. For each
authenticated route, in one pair of tenants:
  - no bearer token: 401;
  - another contract's ids (routes that take ids): 404 not_found, never 403, so nothing tells that they exist;
  - each role: the success status if the role holds the permission, else 403 forbidden;
  - each contract state of SPEC §3: the success status where the state serves the route, else the state's code;
  - a temporary password: 403 forbidden, except on the account routes where it is changed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

import pytest
from viewer_routes.common import PUBLIC_RESOURCES, TEMPORARY_PASSWORD_RESOURCES

from doti.accounts import roles
from doti.accounts.roles import Permission
from doti.auth import customer
from doti.clock import format_rfc3339, utcnow
from doti.contracts import registry, terms
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from infra.template import api_routes, load_template
from tests.support import (
    LambdaContext,
    World,
    admin_call,
    api_event,
    assert_error,
    body_of,
    frame_event,
    sample_image,
    subject_requests,
)
from tests.support.shares import GROUND
from tests.support.viewer import set_contract_state, viewer_call

TEMPLATE_ROUTES = sorted(
    (route.method, route.path) for route in api_routes(load_template()) if route.function == "ViewerFunction"
)

# the contract states that serve a route (SPEC §3)
ALWAYS = frozenset(terms.STATES)  # ending one's own session
ACCOUNT = frozenset(terms.ACCOUNT_STATES)  # the account and notices: open while suspended
SERVING = frozenset(terms.SERVING_STATES)  # everything else: active, and cancelling (Art. 10-4 export too)
STATE_CODES = {
    terms.PENDING: "contract_not_started",
    terms.SUSPENDED: "contract_suspended",
    terms.TERMINATED: "contract_terminated",
    terms.PURGED: "contract_terminated",
}


@dataclass(frozen=True)
class Caller:
    role: str
    login_id: str
    password: str
    token: str


class Tenant:
    """A world (contract, site, camera, device, owner) and, made on first use, what routes need ids of."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._callers: dict[str, Caller] = {}

    def caller(self, role: str, *, fresh: bool = False, temporary: bool = False) -> Caller:
        """A signed-in user of the role: shared, or a new user for routes that end the session or the password."""
        if fresh or temporary or role not in self._callers:
            login_id = f"{role}-{secrets.token_hex(4)}"
            password = "pw-" + secrets.token_urlsafe(12)
            registry.create_user(
                self.world.contract_id,
                login_id=login_id,
                name=role.title(),
                role=role,
                password=password,
                site_ids=None,
                now=utcnow(),
                must_change_password=temporary,
            )
            token, _ = customer.login(login_id, password, utcnow())
            made = Caller(role, login_id, password, token)
            if fresh or temporary:
                return made
            self._callers[role] = made
        return self._callers[role]

    def new_user(self) -> str:
        return self.caller(roles.VIEWER, fresh=True).login_id

    @cached_property
    def frame_id(self) -> str:
        response = ingest.lambda_handler(frame_event(self.world, sample_image()), LambdaContext())
        assert response["statusCode"] == 201, response["body"]
        return body_of(response)["frame_id"]

    @cached_property
    def notice_id(self) -> str:
        notice = {"audience": self.world.contract_id, "kind": "maintenance", "title": "Work", "body": "Planned work"}
        response = admin_call("POST", "/v1/admin/notices", self.world.staff_key, notice)
        assert response["statusCode"] == 201, response["body"]
        return body_of(response)["notice_id"]

    def new_invitation(self) -> str:
        """A pending invitation of the contract, made by its owner: a new one per request, since revoking ends it."""
        body = {"name": "Invitee", "role": roles.VIEWER}
        return self._created(request("POST", "/v1/users", self.caller(roles.OWNER), body=body), 201)["invitation_id"]

    @cached_property
    def share_id(self) -> str:
        return self._created(create_share(self.caller(roles.OWNER), self), 201)["share_id"]

    @cached_property
    def export_id(self) -> str:
        return self._created(request_export(self.caller(roles.OWNER), self), 202)["export_id"]

    @cached_property
    def request_id(self) -> str:
        """A request from a person filmed at the tenant's site, made on its notice page's form."""
        form = subject_requests.open_form(self.world.site_id)
        fields = subject_requests.form_fields(form, utcnow(), kind="question", camera_id="", **{"from": "", "to": ""})
        subject_requests.status_token(subject_requests.post_form(form, fields))
        (item,) = subject_requests.listed_requests(self.caller(roles.OWNER).token)
        return item["request_id"]

    def new_webhook(self) -> str:
        """An endpoint of the contract, made by its owner: a new one per request, since deleting ends it."""
        return self._created(create_webhook(self.caller(roles.OWNER), self), 201)["webhook_id"]

    @cached_property
    def webhook_id(self) -> str:
        return self._created(create_webhook(self.caller(roles.OWNER), self), 201)["webhook_id"]

    @staticmethod
    def _created(event: dict[str, Any], status: int) -> dict[str, Any]:
        response = viewer.lambda_handler(event, LambdaContext())
        assert response["statusCode"] == status, response["body"]
        return body_of(response)


# request builders: (caller, tenant whose ids the request names) -> API Gateway event


def request(
    method: str,
    resource: str,
    caller: Caller | None,
    *,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    path = resource.format(**(params or {}))
    headers = {"Authorization": f"Bearer {caller.token}"} if caller else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return api_event(
        "viewer/invite_user.json" if body is not None else "viewer/list_cameras.json",
        method=method,
        resource=resource,
        path=path,
        headers=headers,
        replace_headers=True,
        body=json.dumps(body) if body is not None else None,
        path_parameters=params or {},
        query=query or {},
    )


def camera(t: Tenant) -> dict[str, str]:
    return {"camera_id": t.world.camera_id}


def on_camera(method: str, resource: str, body: dict[str, Any] | None = None) -> Builder:
    """A request on the tenant's camera."""
    return lambda c, t: request(method, resource, c, params=camera(t), body=body)


def window() -> dict[str, str]:
    now = utcnow()
    return {"from": format_rfc3339(now - timedelta(hours=2)), "to": format_rfc3339(now + timedelta(minutes=1))}


def create_share(c: Caller, t: Tenant) -> dict[str, Any]:
    body = {"camera_id": t.world.camera_id, "frame_id": t.frame_id, "purpose": GROUND, "expires_in": 3600}
    return request("POST", "/v1/shares", c, body=body)


def request_export(c: Caller, t: Tenant) -> dict[str, Any]:
    return request("POST", "/v1/exports", c, body={"camera_id": t.world.camera_id, **window()})


def create_webhook(c: Caller, _t: Tenant) -> dict[str, Any]:
    # .invalid never resolves (RFC 6761): registered as a receiver not up yet; a test event to it is not sent
    body = {"url": "https://hooks.example.invalid/doti", "events": ["camera.offline"]}
    return request("POST", "/v1/webhooks", c, body=body)


def on_webhook(method: str, resource: str) -> Builder:
    return lambda c, t: request(method, resource, c, params={"webhook_id": t.webhook_id})


Builder = Callable[[Caller, Tenant], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    permission: Permission | None  # None: the caller's own account, open to every role
    states: frozenset[str]
    ok: int
    build: Builder
    takes_ids: bool = False  # names objects of the contract: tested with another contract's
    fresh: bool = False  # ends the session or changes the password: a new caller per request


PUBLIC = "public"  # reached without a session (viewer_routes.common.PUBLIC_RESOURCES)

ROUTES: dict[tuple[str, str], Case | str] = {
    ("POST", "/v1/auth/login"): PUBLIC,
    ("GET", "/v1/openapi.json"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/assets/{name}"): PUBLIC,
    ("GET", "/s/{token}"): PUBLIC,
    ("POST", "/s/{token}"): PUBLIC,
    ("GET", "/i/{token}"): PUBLIC,
    ("POST", "/i/{token}"): PUBLIC,
    ("GET", "/p/{public_id}"): PUBLIC,
    ("POST", "/p/{public_id}/requests"): PUBLIC,
    ("GET", "/r/{token}"): PUBLIC,
    ("GET", "/v1/requests"): Case(
        Permission.HANDLE_REQUESTS, ACCOUNT, 200, lambda c, _t: request("GET", "/v1/requests", c)
    ),
    ("GET", "/v1/requests/{request_id}"): Case(
        Permission.HANDLE_REQUESTS,
        ACCOUNT,
        200,
        lambda c, t: request("GET", "/v1/requests/{request_id}", c, params={"request_id": t.request_id}),
        takes_ids=True,
    ),
    ("POST", "/v1/requests/{request_id}/answer"): Case(
        Permission.HANDLE_REQUESTS,
        SERVING,
        200,
        lambda c, t: request(
            "POST",
            "/v1/requests/{request_id}/answer",
            c,
            params={"request_id": t.request_id},
            body={"action": "reply", "text": "We keep footage for 31 days and film only the shop floor."},
        ),
        takes_ids=True,
    ),
    ("POST", "/v1/webhooks"): Case(Permission.MANAGE_WEBHOOKS, SERVING, 201, create_webhook),
    ("GET", "/v1/webhooks"): Case(
        Permission.MANAGE_WEBHOOKS, ACCOUNT, 200, lambda c, _t: request("GET", "/v1/webhooks", c)
    ),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Case(
        Permission.MANAGE_WEBHOOKS,
        ACCOUNT,
        204,
        lambda c, t: request("DELETE", "/v1/webhooks/{webhook_id}", c, params={"webhook_id": t.new_webhook()}),
        takes_ids=True,
    ),
    ("POST", "/v1/webhooks/{webhook_id}/rotate"): Case(
        Permission.MANAGE_WEBHOOKS, SERVING, 200, on_webhook("POST", "/v1/webhooks/{webhook_id}/rotate"), takes_ids=True
    ),
    ("POST", "/v1/webhooks/{webhook_id}/test"): Case(
        Permission.MANAGE_WEBHOOKS, SERVING, 200, on_webhook("POST", "/v1/webhooks/{webhook_id}/test"), takes_ids=True
    ),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Case(
        Permission.MANAGE_WEBHOOKS,
        ACCOUNT,
        200,
        on_webhook("GET", "/v1/webhooks/{webhook_id}/deliveries"),
        takes_ids=True,
    ),
    ("POST", "/v1/auth/logout"): Case(
        None, ALWAYS, 204, lambda c, _t: request("POST", "/v1/auth/logout", c), fresh=True
    ),
    ("POST", "/v1/auth/password"): Case(
        None,
        ACCOUNT,
        200,
        lambda c, _t: request(
            "POST",
            "/v1/auth/password",
            c,
            body={"current_password": c.password, "new_password": "new-" + secrets.token_urlsafe(12)},
        ),
        fresh=True,
    ),
    ("GET", "/v1/me"): Case(None, ACCOUNT, 200, lambda c, _t: request("GET", "/v1/me", c)),
    ("GET", "/v1/users"): Case(Permission.MANAGE_USERS, SERVING, 200, lambda c, _t: request("GET", "/v1/users", c)),
    ("POST", "/v1/users"): Case(
        Permission.MANAGE_USERS,
        SERVING,
        201,
        lambda c, t: request(
            "POST",
            "/v1/users",
            c,
            body={"name": "I", "role": "viewer", "site_ids": [t.world.site_id]},
        ),
        takes_ids=True,
    ),
    ("DELETE", "/v1/invitations/{invitation_id}"): Case(
        Permission.MANAGE_USERS,
        SERVING,
        204,
        lambda c, t: request(
            "DELETE", "/v1/invitations/{invitation_id}", c, params={"invitation_id": t.new_invitation()}
        ),
        takes_ids=True,
    ),
    ("DELETE", "/v1/users/{login_id}"): Case(
        Permission.MANAGE_USERS,
        SERVING,
        204,
        lambda c, t: request("DELETE", "/v1/users/{login_id}", c, params={"login_id": t.new_user()}),
        takes_ids=True,
    ),
    ("GET", "/v1/cameras"): Case(Permission.VIEW, SERVING, 200, lambda c, _t: request("GET", "/v1/cameras", c)),
    ("GET", "/v1/cameras/{camera_id}"): Case(
        Permission.VIEW, SERVING, 200, on_camera("GET", "/v1/cameras/{camera_id}"), takes_ids=True
    ),
    ("GET", "/v1/cameras/{camera_id}/frames"): Case(
        Permission.VIEW, SERVING, 200, on_camera("GET", "/v1/cameras/{camera_id}/frames"), takes_ids=True
    ),
    ("GET", "/v1/cameras/{camera_id}/frames/{frame_id}"): Case(
        Permission.VIEW,
        SERVING,
        200,
        lambda c, t: request(
            "GET", "/v1/cameras/{camera_id}/frames/{frame_id}", c, params={**camera(t), "frame_id": t.frame_id}
        ),
        takes_ids=True,
    ),
    ("GET", "/v1/cameras/{camera_id}/timeline"): Case(
        Permission.VIEW, SERVING, 200, on_camera("GET", "/v1/cameras/{camera_id}/timeline"), takes_ids=True
    ),
    ("GET", "/v1/cameras/{camera_id}/notes"): Case(
        Permission.VIEW, SERVING, 200, on_camera("GET", "/v1/cameras/{camera_id}/notes"), takes_ids=True
    ),
    ("POST", "/v1/cameras/{camera_id}/notes"): Case(
        Permission.WRITE_NOTES,
        SERVING,
        201,
        on_camera("POST", "/v1/cameras/{camera_id}/notes", body={"text": "Van left"}),
        takes_ids=True,
    ),
    ("PUT", "/v1/cameras/{camera_id}/purposes"): Case(
        Permission.REGISTER_PURPOSES,
        SERVING,
        200,
        on_camera(
            "PUT",
            "/v1/cameras/{camera_id}/purposes",
            body={"purposes": ["safety"], "coverage": "the door", "people_filmed": True},
        ),
        takes_ids=True,
    ),
    ("GET", "/v1/notices"): Case(Permission.VIEW, ACCOUNT, 200, lambda c, _t: request("GET", "/v1/notices", c)),
    ("POST", "/v1/notices/{notice_id}/read"): Case(
        Permission.VIEW,
        ACCOUNT,
        204,
        lambda c, t: request("POST", "/v1/notices/{notice_id}/read", c, params={"notice_id": t.notice_id}),
        takes_ids=True,
    ),
    ("GET", "/v1/access-log"): Case(
        Permission.VIEW_ACCESS_LOG, SERVING, 200, lambda c, _t: request("GET", "/v1/access-log", c)
    ),
    ("GET", "/v1/deletions"): Case(Permission.VIEW, SERVING, 200, lambda c, _t: request("GET", "/v1/deletions", c)),
    ("POST", "/v1/shares"): Case(Permission.SHARE, SERVING, 201, create_share, takes_ids=True),
    ("GET", "/v1/shares"): Case(Permission.SHARE, SERVING, 200, lambda c, _t: request("GET", "/v1/shares", c)),
    ("DELETE", "/v1/shares/{share_id}"): Case(
        Permission.SHARE,
        SERVING,
        204,
        lambda c, t: request("DELETE", "/v1/shares/{share_id}", c, params={"share_id": t.share_id}),
        takes_ids=True,
    ),
    ("GET", "/v1/sites/{site_id}/signage"): Case(
        Permission.PRINT_SIGNAGE,
        SERVING,
        200,
        lambda c, t: request(
            "GET", "/v1/sites/{site_id}/signage", c, params={"site_id": t.world.site_id}, query={"format": "svg"}
        ),
        takes_ids=True,
    ),
    ("GET", "/v1/alerts/mail"): Case(
        Permission.MANAGE_ALERTS, SERVING, 200, lambda c, _t: request("GET", "/v1/alerts/mail", c)
    ),
    ("PUT", "/v1/alerts/mail"): Case(
        Permission.MANAGE_ALERTS,
        SERVING,
        200,
        lambda c, _t: request("PUT", "/v1/alerts/mail", c, body={"events": ["device.event"]}),
    ),
    ("POST", "/v1/exports"): Case(Permission.EXPORT, SERVING, 202, request_export, takes_ids=True),
    ("GET", "/v1/exports"): Case(Permission.EXPORT, SERVING, 200, lambda c, _t: request("GET", "/v1/exports", c)),
    ("GET", "/v1/exports/{export_id}"): Case(
        Permission.EXPORT,
        SERVING,
        200,
        lambda c, t: request("GET", "/v1/exports/{export_id}", c, params={"export_id": t.export_id}),
        takes_ids=True,
    ),
}


def case_of(method: str, path: str) -> Case:
    case = ROUTES.get((method, path))
    assert case is not None, f"{method} {path} has no entry in ROUTES: add a case (or mark it PUBLIC)"
    assert isinstance(case, Case)
    return case


def test_every_entry_is_a_route_of_the_template():
    # Given the table and the template
    # Then no entry is left for a route that does not exist (a rename would otherwise go untested)
    assert sorted(set(ROUTES) - set(TEMPLATE_ROUTES)) == []


@pytest.mark.parametrize(("method", "path"), TEMPLATE_ROUTES, ids=[f"{m} {p}" for m, p in TEMPLATE_ROUTES])
def test_public_routes_are_exactly_those_marked_public(method, path):
    # Given a route of the template and its entry
    entry = ROUTES.get((method, path))

    # Then it has one, and the code lets it through without a session exactly when the table says it is public
    assert entry is not None, f"{method} {path} has no entry in ROUTES: add a case (or mark it PUBLIC)"
    assert (path in PUBLIC_RESOURCES) == (entry == PUBLIC)


AUTHENTICATED = [(m, p) for m, p in TEMPLATE_ROUTES if ROUTES.get((m, p)) != PUBLIC]


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED, ids=[f"{m} {p}" for m, p in AUTHENTICATED])
def test_route_checks_session_tenant_role_state_and_temporary_password(world_factory, method, path):
    case = case_of(method, path)
    tenant, other = Tenant(world_factory()), Tenant(world_factory())

    def prepared(role: str) -> dict[str, Any]:
        return case.build(tenant.caller(role, fresh=case.fresh), tenant)

    # no session: 401
    anonymous = case.build(tenant.caller(roles.OWNER, fresh=case.fresh), tenant)
    anonymous["headers"].pop("Authorization")
    anonymous["multiValueHeaders"].pop("Authorization")
    assert_error(viewer_call(anonymous), 401, "unauthorized")

    # another contract's ids: 404, for a caller who could reach their own
    if case.takes_ids:
        foreign = case.build(tenant.caller(roles.OWNER, fresh=case.fresh), other)
        assert_error(viewer_call(foreign), 404, "not_found")

    # each role: the route's answer if the role holds the permission, else 403
    for role in roles.ROLES:
        response = viewer_call(prepared(role))
        if case.permission is None or roles.allows(role, case.permission):
            assert response["statusCode"] == case.ok, f"{role}: {response['body']}"
        else:
            assert_error(response, 403, "forbidden")

    # each contract state: the route's answer where the state serves it, else the state's SPEC §3 code
    for state in terms.STATES:
        event = prepared(roles.OWNER)  # built while active: a terminated contract lets nobody sign in
        set_contract_state(tenant.world.contract_id, state)
        try:
            response = viewer_call(event)
        finally:
            set_contract_state(tenant.world.contract_id, terms.ACTIVE)
        if state in case.states:
            assert response["statusCode"] == case.ok, f"{state}: {response['body']}"
        else:
            assert_error(response, 403, STATE_CODES[state])

    # a temporary password: only the account routes, where it is changed, answer
    response = viewer_call(case.build(tenant.caller(roles.OWNER, temporary=True), tenant))
    if path in TEMPORARY_PASSWORD_RESOURCES:
        assert response["statusCode"] == case.ok, response["body"]
    else:
        assert assert_error(response, 403, "forbidden")["details"] == {"must_change_password": True}
