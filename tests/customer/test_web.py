"""The web viewer's page and assets (SPEC §6): served publicly by the viewer function with a strict CSP.

The page itself is checked as a file: no inline script or style, only allow-listed assets, text never parsed as
HTML, and every UI string in both languages. The browser tests (tests/browser/) drive it for real.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from viewer_routes.web import ASSETS

from doti.auth.customer import MIN_PASSWORD_LENGTH
from functions.ingest import app as ingest
from functions.viewer import app as viewer
from tests.support import LambdaContext, api_event, assert_error, body_of, customer_event, frame_event, sample_image
from tests.support.processor import customer_frame, frame_items, receive, run, upload
from tests.support.video import clip

WEB = Path(__file__).resolve().parents[2] / "functions" / "viewer" / "web"
EXPECTED_DIRECTIVES = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "connect-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def _get(path: str, resource: str, headers: dict[str, str] | None = None, **parameters: str) -> dict[str, Any]:
    event = api_event(
        "viewer/web_page.json",
        resource=resource,
        path=path,
        headers=headers or {},
        path_parameters=parameters or None,
    )
    return viewer.lambda_handler(event, LambdaContext())


def _headers(response: dict[str, Any]) -> dict[str, str]:
    return {name.lower(): values[0] for name, values in response["multiValueHeaders"].items()}


def _policy(response: dict[str, Any]) -> dict[str, list[str]]:
    directives = [d.split() for d in _headers(response)["content-security-policy"].split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def _signed_image_origin(world) -> tuple[str, str]:
    """The origins of an image URL and of a thumbnail link the customer API hands out, for a still of the world's
    camera."""
    stored = ingest.lambda_handler(frame_event(world, sample_image()), LambdaContext())
    assert stored["statusCode"] == 201, stored["body"]
    login = api_event(
        "viewer/login.json", body=json.dumps({"login_id": world.login_id, "password": world.password}), binary=False
    )
    token = body_of(viewer.lambda_handler(login, LambdaContext()))["token"]
    listing = customer_event(
        "viewer/list_frames.json",
        token,
        path=f"/v1/cameras/{world.camera_id}/frames",
        resource="/v1/cameras/{camera_id}/frames",
        path_parameters={"camera_id": world.camera_id},
    )
    item = body_of(viewer.lambda_handler(listing, LambdaContext()))["items"][0]
    return _origin(item["image_url"]), _origin(item["thumbnail_url"])


# serving


def test_given_no_session_when_the_page_is_requested_then_it_is_html_under_a_strict_policy(world):
    # Given the origins that signed image URLs and (for stills) thumbnail renderer links point at
    image_origin, thumbnails_origin = _signed_image_origin(world)
    assert thumbnails_origin != image_origin

    # When a browser without a session asks for the page
    response = _get("/", "/")

    # Then it gets the page as UTF-8 HTML text, with the policy, no sniffing and no referrer
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert response["body"] == (WEB / "index.html").read_text(encoding="utf-8")
    headers = _headers(response)
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-cache"
    policy = _policy(response)
    # And images may come from this origin, the signed URLs' origin and the thumbnail renderer's only, clips from the
    # signed URLs' only; nothing else loosens the policy
    assert policy.pop("img-src") == ["'self'", image_origin, thumbnails_origin]
    assert policy.pop("media-src") == [image_origin]
    assert policy == EXPECTED_DIRECTIVES


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.mark.isolated  # drains the incoming queue and reads the whole frames table
def test_given_a_clip_when_the_page_is_requested_then_media_may_play_from_its_signed_url_origin_only(aws, world):
    # Given a clip of the world's camera, uploaded and processed as a device's large upload is, as the customer sees it
    upload(aws, world, clip(1.0, 5, 160, 120), "video/mp4")
    assert run(aws, receive(aws)) == {"batchItemFailures": []}
    (item,) = frame_items(aws)
    frame = customer_frame(world, item["frame_id"]["S"])
    assert frame["content_type"] == "video/mp4"

    # When a browser asks for the page
    policy = _policy(_get("/", "/"))

    # Then the <video> may load the clip's signed URL, and media from no other origin, not even the page's own
    assert policy["media-src"] == [_origin(frame["image_url"])]
    # And its poster, the clip's JPEG thumbnail, loads under img-src like any thumbnail
    assert _origin(frame["thumbnail_url"]) in policy["img-src"]
    # And no catch-all would let media in through another directive
    assert policy["default-src"] == ["'none'"]


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_given_an_allow_listed_asset_when_requested_then_it_is_served_as_text_with_its_type(aws, name):
    # When a browser without a session asks for an asset
    response = _get(f"/assets/{name}", "/assets/{name}", name=name)

    # Then it is the file, as text, with its own content type and a short public cache lifetime
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert response["body"] == (WEB / name).read_text(encoding="utf-8")
    headers = _headers(response)
    assert headers["content-type"] == ASSETS[name]
    assert headers["cache-control"] == "public, max-age=300"
    assert headers["x-content-type-options"] == "nosniff"
    assert _policy(response)["default-src"] == ["'none'"]


def test_every_file_in_the_web_folder_is_the_page_or_an_allow_listed_asset():
    assert {p.name for p in WEB.iterdir()} == {"index.html", *ASSETS}


def test_given_the_etag_of_the_served_version_when_revalidated_then_304_without_a_body(aws):
    # Given the asset's current ETag
    etag = _headers(_get("/assets/app.js", "/assets/{name}", name="app.js"))["etag"]

    # When the browser revalidates with it, and with a stale one
    fresh = _get("/assets/app.js", "/assets/{name}", {"If-None-Match": etag}, name="app.js")
    stale = _get("/assets/app.js", "/assets/{name}", {"If-None-Match": '"old"'}, name="app.js")

    # Then the current one is not sent again, and the stale one gets the file
    assert fresh["statusCode"] == 304
    assert fresh["body"] == ""
    assert stale["statusCode"] == 200
    assert stale["body"]


@pytest.mark.parametrize(
    "name",
    [
        "secret.txt",
        "index.html",  # the page is served at / only
        "../app.py",
        "..%2Fapp.py",
        "../viewer_routes/web.py",
        "%2e%2e%2fapp.py",
        "/etc/passwd",
        "APP.JS",
        "app.js.map",
        "",
    ],
)
def test_given_a_name_outside_the_allow_list_when_requested_then_404_and_no_file(aws, name):
    # When an asset is asked for by any other name, traversal attempts included
    response = _get(f"/assets/{name}", "/assets/{name}", name=name)

    # Then it is the SPEC §10 not_found, whatever exists on disk
    assert_error(response, 404, "not_found")


def test_given_the_stage_root_without_a_slash_when_requested_then_redirected_to_the_slash(aws):
    # Given API Gateway's root resource reached as /dev (the ApiUrl output has no trailing slash)
    event = api_event("viewer/web_page.json")
    event["requestContext"]["path"] = "/dev"

    # When it is requested
    response = viewer.lambda_handler(event, LambdaContext())

    # Then the browser is sent to /dev/, against which the page's relative URLs resolve under the stage
    assert response["statusCode"] == 308
    assert _headers(response)["location"] == "/dev/"


# the page as a file


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_text: dict[str, str] = {"script": "", "style": ""}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in self.inline_text else None

    def handle_endtag(self, _tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.inline_text[self._open] += data


@pytest.fixture(scope="module")
def page() -> _PageParser:
    parser = _PageParser()
    parser.feed((WEB / "index.html").read_text(encoding="utf-8"))
    return parser


def test_the_page_has_no_inline_script_style_or_handlers(page):
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts == [{"type": "module", "src": "assets/app.js"}]
    assert page.inline_text == {"script": "", "style": ""}
    assert not [tag for tag, _ in page.tags if tag == "style"]
    for tag, attrs in page.tags:
        assert not [name for name in attrs if name.startswith("on") or name == "style"], tag


def test_the_full_view_plays_clips_on_demand_inline_and_loads_nothing_until_a_clip_is_shown(page):
    videos = [attrs for tag, attrs in page.tags if tag == "video"]
    # A phone plays the clip inside the page, fetches only its metadata until play, and never starts on its own.
    assert videos == [
        {"id": "frame-video", "controls": None, "playsinline": None, "preload": "metadata", "hidden": None}
    ]


def test_the_password_form_masks_its_fields_for_password_managers_and_asks_the_apis_minimum_length(page):
    fields = {a["id"]: a for tag, a in page.tags if tag == "input" and a.get("id", "").startswith("password-")}
    # Browsers and password managers offer to save the new password for this login id, and never show one.
    assert {name: (a.get("type"), a.get("autocomplete")) for name, a in fields.items()} == {
        "password-user": (None, "username"),
        "password-current": ("password", "current-password"),
        "password-new": ("password", "new-password"),
        "password-confirm": ("password", "new-password"),
    }
    # A too-short new password is stopped in the browser at the length the API enforces.
    assert fields["password-new"]["minlength"] == fields["password-confirm"]["minlength"] == str(MIN_PASSWORD_LENGTH)


def test_the_page_loads_only_allow_listed_assets_by_relative_url(page):
    # Relative URLs keep the page working under an API Gateway stage prefix.
    references = [attrs.get("src") or attrs.get("href") for tag, attrs in page.tags if tag in {"script", "link"}]
    assert references == ["assets/icon.svg", "assets/app.css", "assets/app.js"]
    assert {r.removeprefix("assets/") for r in references} <= set(ASSETS)


def test_the_script_never_parses_data_as_html_or_code():
    script = re.sub(r"(?m)^\s*//.*$", "", (WEB / "app.js").read_text(encoding="utf-8"))  # code, not comments
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    # API calls are relative too, so they reach the stage the page came from.
    assert not re.search(r"""api\("[A-Z]+", [`"]/""", script)


# UI text


@pytest.fixture(scope="module")
def strings() -> dict[str, dict[str, str]]:
    return json.loads((WEB / "i18n.json").read_text(encoding="utf-8"))


def test_every_string_exists_in_japanese_and_english_with_the_same_placeholders(strings):
    assert set(strings) == {"ja", "en"}
    assert set(strings["ja"]) == set(strings["en"])
    for key, japanese in strings["ja"].items():
        english = strings["en"][key]
        assert japanese.strip()
        assert english.strip()
        assert set(re.findall(r"\{\w+\}", japanese)) == set(re.findall(r"\{\w+\}", english)), key
    assert strings["ja"]["app.title"] != strings["en"]["app.title"]


def test_every_key_the_page_and_script_use_is_defined(page, strings):
    script = (WEB / "app.js").read_text(encoding="utf-8")
    used = {attrs[name] for _, attrs in page.tags for name in ("data-i18n", "data-i18n-placeholder") if name in attrs}
    used |= set(re.findall(r"""\bt\("([\w.]+)"[,)]""", script))
    used |= set(re.findall(r""":\s*"((?:shares|error)\.[\w.]+)\"""", script))  # keys held in lookup tables
    assert len(used) > 50
    assert used - set(strings["ja"]) == set()


def test_every_api_error_code_the_viewer_can_meet_has_a_message(strings):
    # SPEC §10 codes a customer route can answer (payload, quota and device codes cannot reach the viewer).
    codes = [
        "unauthorized",
        "forbidden",
        "not_found",
        "validation_error",
        "conflict",
        "account_locked",
        "rate_limited",
        "contract_suspended",
        "contract_terminated",
        "contract_not_started",
    ]
    assert [c for c in codes if f"error.{c}" not in strings["en"]] == []
