"""API Gateway, locally: Chalice's local gateway routes the template's Api events to the real handlers.

Chalice builds a partial proxy event; this module matches the request to a resource, completes the event the way
API Gateway's REST proxy integration sends it, and turns Powertools' response into what chalice.local writes to the
socket.

What API Gateway (REST, Lambda proxy) delivers, and so what this gateway delivers:
- `path` and `pathParameters` as the client sent them, still percent-encoded: `/v1/users/a%2Fb` matches
  `/v1/users/{login_id}` with `a%2Fb` (live captures: aws/aws-sam-cli#3524 and #771, hotsock/voker's ingress probe).
  HTTP APIs decode them; REST APIs do not. Query parameters, by contrast, arrive decoded.
- A path with an empty segment (`//v1/cameras`, `/v1//cameras`) matches no resource: 403 Missing Authentication
  Token, as for any unknown path. (Python's http.server folds leading slashes into one; the raw target is kept.)
- A body whose Content-Type matches one of the API's BinaryMediaTypes (`type/subtype`, `type/*` or `*/*`) arrives
  base64-encoded, byte for byte. Any other body arrives as a UTF-8 string: bytes that are not UTF-8 are replaced
  (U+FFFD), so they are lost before the function runs, in AWS as here. template.yaml declares `*/*`, so every body
  reaches the functions as sent; the text path is kept for an API that declares less.
"""

from __future__ import annotations

import base64
import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from chalice.local import (
    ChaliceRequestHandler,
    LambdaContext,
    LambdaEventConverter,
    LocalDevServer,
    LocalGateway,
    MatchResult,
    RouteMatcher,
)

from infra.template import ApiRoute, FunctionSpec

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
STAGE = "local"


def load_handler_module(spec: FunctionSpec) -> ModuleType:
    """Import a function's handler module from its CodeUri, under a name unique to the function."""
    module_spec = importlib.util.spec_from_file_location(f"doti_fn_{spec.logical_id}", spec.module_path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import {spec.module_path}")
    module = importlib.util.module_from_spec(module_spec)
    if str(spec.code_uri) not in sys.path:
        sys.path.append(str(spec.code_uri))  # Lambda puts the task root on sys.path: the function's own packages import
    sys.modules[module_spec.name] = module  # pydantic resolves the handlers' annotations through sys.modules
    module_spec.loader.exec_module(module)
    return module


@dataclass
class LocalFunction:
    spec: FunctionSpec
    handler: Handler
    # Powertools keeps the current event on the resolver, shared by threads: one request at a time per
    # function, like one Lambda execution environment.
    lock: threading.Lock

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        context = LambdaContext(
            function_name=f"doti-local-{self.spec.logical_id}",
            memory_size=self.spec.memory,
            max_runtime_ms=self.spec.timeout * 1000,
        )
        with self.lock:
            return self.handler(event, context)


def load_functions(specs: Iterable[FunctionSpec]) -> dict[str, LocalFunction]:
    loaded = {}
    for spec in specs:
        module = load_handler_module(spec)
        loaded[spec.logical_id] = LocalFunction(spec, getattr(module, spec.attribute), threading.Lock())
    return loaded


def _api_gateway_event(event: dict[str, Any], host: str) -> dict[str, Any]:
    """Fill in what API Gateway's REST proxy event has and Chalice's leaves out."""
    context = event["requestContext"]
    headers = event.get("headers") or {}
    multi_query = event.get("multiValueQueryStringParameters")
    body = event.get("body")
    if isinstance(body, bytes):  # not a binary media type: API Gateway passes text, and what is not UTF-8 is lost
        body = body.decode("utf-8", "replace")
    now = time.time()
    context.update(
        stage=STAGE,
        requestId=str(uuid.uuid4()),
        requestTimeEpoch=int(now * 1000),
        protocol="HTTP/1.1",
        domainName=host,
        apiId="local",
        resourceId="local",
    )
    context["identity"] = {**context.get("identity", {}), "userAgent": headers.get("user-agent")}
    event.update(
        resource=context["resourcePath"],
        path=context["path"],
        httpMethod=context["httpMethod"],
        queryStringParameters={k: v[-1] for k, v in multi_query.items()} if multi_query else None,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        pathParameters=event.get("pathParameters") or None,
        isBase64Encoded=bool(event.get("isBase64Encoded")),
        body=body,
    )
    return event


def _flatten(response: dict[str, Any]) -> dict[str, Any]:
    """Powertools answers with multiValueHeaders only; chalice.local wants `headers` and `Content-Type` exactly."""
    headers: dict[str, Any] = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = values[0] if len(values) == 1 else values
    for name in [n for n in headers if n.lower() == "content-type" and n != "Content-Type"]:
        headers["Content-Type"] = headers.pop(name)
    return {
        "statusCode": response.get("statusCode", 200),
        "headers": headers,
        "multiValueHeaders": {},
        "body": response.get("body"),
        "isBase64Encoded": response.get("isBase64Encoded", False),
    }


_ERROR_502 = {
    "statusCode": 502,
    "headers": {"Content-Type": "application/json"},
    "multiValueHeaders": {},
    "body": '{"message": "Internal server error"}',
}
_ERROR_403 = {
    "statusCode": 403,
    "headers": {"Content-Type": "application/json", "x-amzn-ErrorType": "MissingAuthenticationTokenException"},
    "multiValueHeaders": {},
    "body": '{"message": "Missing Authentication Token"}',
}


_RESOLVER_LOCK = threading.Lock()


class TemplateApp:
    """Stands where chalice.local expects a Chalice app: `routes`, `api.binary_types`, and a Lambda entry point."""

    def __init__(self, routes: Iterable[ApiRoute], functions: dict[str, LocalFunction], binary_types: list[str]):
        self.routes: dict[str, dict[str, Any]] = {}
        for route in routes:
            entry = SimpleNamespace(authorizer=None, cors=None, function=functions[route.function])
            self.routes.setdefault(route.path, {})[route.method] = entry
        self.api = SimpleNamespace(binary_types=binary_types)
        self.host = "localhost"
        self.on_error: Callable[[BaseException], None] = lambda _exc: None

    def __call__(self, event: dict[str, Any], _context: Any) -> dict[str, Any]:
        context = event["requestContext"]
        entry = self.routes.get(context["resourcePath"], {}).get(context["httpMethod"])
        if entry is None:
            return dict(_ERROR_403)  # API Gateway's answer for a method the resource does not define
        try:
            # Powertools keeps the current event on a class shared by every resolver (BaseRouter.current_event):
            # two API functions answering at once in one process would read each other's request.
            with _RESOLVER_LOCK:
                response = entry.function.invoke(_api_gateway_event(event, self.host))
        except Exception as exc:  # a crashed Lambda is a 502 at API Gateway, never a dropped connection
            self.on_error(exc)
            return dict(_ERROR_502)
        return _flatten(response)


class ResourceMatcher(RouteMatcher):
    """Matches a request target to a template resource as API Gateway does, on the raw, still-encoded path.

    Chalice's matcher reads the target with urlparse, which takes `//v1/cameras` for a host and `/a;b` for a path
    with parameters `b`; this one splits only at `?`, and no resource has an empty segment.
    """

    def match_route(self, url: str) -> MatchResult:
        path, _, query = url.partition("?")
        if path != "/" and path.endswith("/"):  # API Gateway answers /v1/cameras/ as /v1/cameras
            path = path[:-1]
        parts = path.split("/")
        if not path.startswith("/") or (path != "/" and "" in parts[1:]):  # "/" is the web viewer's resource
            raise ValueError(f"no resource matches {path!r}")  # chalice.local answers 403 Missing Authentication Token
        for route_url in self.route_urls:  # sorted: a fixed segment is tried before a {variable} one
            captured = _captures(route_url.split("/"), parts)
            if captured is not None:
                return MatchResult(route_url, captured, parse_qs(query, keep_blank_values=True))
        raise ValueError(f"no resource matches {path!r}")


def _captures(route_parts: list[str], parts: list[str]) -> dict[str, str] | None:
    if len(route_parts) != len(parts):
        return None
    captured = {}
    for route_part, part in zip(route_parts, parts, strict=True):
        if route_part.startswith("{") and route_part.endswith("}"):
            captured[route_part[1:-1]] = part
        elif route_part != part:
            return None
    return captured


def media_type_matches(content_type: str, patterns: Iterable[str]) -> bool:
    """Whether a Content-Type (parameters ignored, no case) matches a BinaryMediaTypes entry, wildcards included."""
    kind, _, subtype = content_type.split(";", 1)[0].strip().lower().partition("/")
    for pattern in patterns:
        want_kind, _, want_subtype = pattern.lower().partition("/")
        if want_kind in ("*", kind) and want_subtype in ("*", subtype):
            return True
    return False


class _EventConverter(LambdaEventConverter):
    """chalice.local's converter with API Gateway's media type matching (chalice compares the whole header)."""

    def _is_binary(self, headers: dict[str, Any]) -> bool:
        return media_type_matches(headers.get("content-type", ""), self._binary_types)


class _RequestHandler(ChaliceRequestHandler):
    """chalice.local's handler with API Gateway's resource matching on the raw request target.

    Header names are lower-cased first: chalice.local detects binary bodies only by a lower-case content-type.
    """

    def __init__(
        self, request: Any, client_address: tuple[str, int], server: HTTPServer, app_object: Any, config: Any
    ) -> None:
        # As ChaliceRequestHandler.__init__, with the matcher replaced before the base class handles the request.
        self.local_gateway = LocalGateway(app_object, config)
        self.local_gateway.event_converter = _EventConverter(
            ResourceMatcher(list(app_object.routes)), app_object.api.binary_types
        )
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        words = self.requestline.split()
        if parsed and len(words) >= 2:
            self.path = words[1]  # the target as sent: http.server has folded a leading `//` into `/`
        return parsed

    def _parse_payload(self) -> tuple[dict[str, str], bytes | None]:
        headers, body = super()._parse_payload()
        return {name.lower(): value for name, value in headers.items()}, body

    def _handle_binary(self, response: dict[str, Any]) -> dict[str, Any]:
        if response.get("isBase64Encoded") and isinstance(response.get("body"), str):
            response["body"] = base64.b64decode(response["body"])
        return response

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(app: TemplateApp, host: str, port: int) -> tuple[LocalDevServer, threading.Thread]:
    """Start the gateway on host:port in a daemon thread."""
    config = SimpleNamespace(lambda_timeout=29, function_name="doti-local", lambda_memory_size=512)
    app.host = f"{host}:{port}"
    server = LocalDevServer(app, config, host, port, handler_cls=_RequestHandler)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.server.serve_forever, name="api-gateway", daemon=True)
    thread.start()
    return server, thread


class _FunctionUrlHandler(BaseHTTPRequestHandler):
    """A Lambda Function URL, locally: each GET or HEAD becomes the payload 2.0 event Lambda sends, and the
    function's answer (base64 bodies decoded) is written back as it is."""

    function: LocalFunction

    def do_GET(self) -> None:
        self._invoke("GET")

    def do_HEAD(self) -> None:
        self._invoke("HEAD")

    def _invoke(self, method: str) -> None:
        path, _, query = self.path.partition("?")
        pairs = parse_qs(query, keep_blank_values=True)
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "queryStringParameters": {name: values[-1] for name, values in pairs.items()} or None,
            "requestContext": {"http": {"method": method, "path": path, "sourceIp": self.client_address[0]}},
            "isBase64Encoded": False,
        }
        try:
            response = self.function.invoke(event)
        except Exception:  # a crashed Lambda is a 502 at the Function URL too
            response = dict(_ERROR_502)
        body = response.get("body") or ""
        raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        self.send_response(response.get("statusCode", 200))
        for name, value in (response.get("headers") or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if method == "GET":
            self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_function_url(function: LocalFunction, host: str, port: int) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Serve `function` as its Lambda Function URL (AuthType NONE) on host:port, in a daemon thread."""
    handler = type("FunctionUrlHandler", (_FunctionUrlHandler,), {"function": function})
    server = ThreadingHTTPServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, name=f"url-{function.spec.logical_id}", daemon=True)
    thread.start()
    return server, thread
