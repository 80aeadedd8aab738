"""The links the service hands out (share links, invitations), built on the configured public base URL (issue 10).

Never on a request's Host or X-Forwarded-Proto: the client chooses those, and a link built from them points wherever
it likes (`javascript://evil.example/s/<token>`). The base URL is the SSM parameter that template.yaml creates: the
stack's PublicBaseUrl when set (a custom domain), else the API's own URL with its stage. The environment holds only
the parameter's name (PUBLIC_BASE_URL_PARAMETER), because a function's environment cannot name its own API's URL
without a circular dependency. Locally, infra.provision writes the local API's address into the same parameter.

A missing parameter, or a value that is not a base URL to build links on, fails the request loudly: 500
`internal_error`, logged with its cause, and nothing in the answer about the parameter or its value.
"""

from __future__ import annotations

import re

from doti.errors import DotiError
from doti.observability import logger
from doti.settings import SettingsError, get_settings

# Read once per 5 minutes per warm function: a changed PublicBaseUrl reaches every function within that time.
MAX_AGE_SECONDS = 300
# https (http only on this machine, for the local stack), a host, an optional port and path, no trailing slash,
# no user info, query or fragment. template.yaml's PublicBaseUrl parameter allows the https subset of the same.
_BASE_URL = re.compile(
    r"(?:https://[A-Za-z0-9.-]+|http://(?:localhost|127\.0\.0\.1|\[::1\]))(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%-]+)*"
)


class PublicUrlUnavailable(DotiError):
    """The public base URL is missing or unusable: a deployment fault, answered as 500 internal_error."""

    def __init__(self) -> None:
        super().__init__("internal error")


def check_base_url(value: str) -> str:
    """`value` if links can be built on it; SettingsError (naming the value, for the log) otherwise."""
    if not _BASE_URL.fullmatch(value):
        raise SettingsError(
            f"the public base URL {value!r} is not https://host[:port][/path] without a trailing slash"
            " (http only for localhost)"
        )
    return value


def public_base_url() -> str:
    """The configured base URL, checked; PublicUrlUnavailable when it is missing or unusable."""
    # Imported here, not at the top: Powertools' parameters module imports boto3 (about 100 ms of a cold start),
    # and only the routes that hand out links need it.
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    name = get_settings().public_base_url_parameter
    try:
        return check_base_url(parameters.get_parameter(name, max_age=MAX_AGE_SECONDS))
    except (GetParameterError, SettingsError) as exc:
        logger.error("the public base URL is unavailable", extra={"parameter": name, "problem": str(exc)})
        raise PublicUrlUnavailable() from exc


def public_url(path: str) -> str:
    """The absolute link to `path` (which starts with "/", e.g. "/s/" + token) on the public base URL."""
    if not path.startswith("/"):
        raise ValueError(f"a link path starts with '/': {path!r}")
    return public_base_url() + path
