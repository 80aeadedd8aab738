"""One-time share links survive link previews (issue 13, point 7): a GET, a person's browser or a chat app's preview
bot alike, shows an interstitial with the purpose and a button; only the button's POST shows the frame and spends
the link. The interstitial holds no URL of the frame, and no page's OpenGraph tags carry footage.

Links are created through the viewer API and opened through `GET`/`POST /s/{token}` of the same handler, with no
session: the token in the path is the credential.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest

from doti.clock import utcnow
from doti.oversight import audit
from doti.store.models import ShareModel
from tests.support.shares import GROUND, created, open_page, press_button, revoke
from tests.support.viewer import ingest_frame, owner_token

# What the preview fetchers of chat apps send as User-Agent (their published or observed strings).
PREVIEW_BOTS = {
    "line": "Mozilla/5.0 (compatible; Linespider/1.1; +https://lin.ee/4dwXkTH)",
    "line-poker": "facebookexternalhit/1.1;line-poker/1.0",
    "slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "teams": "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 "
    "Safari/537.36 Edge/12.246 SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com",
    "discord": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "facebook": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "twitter-x": "Twitterbot/1.0",
    "whatsapp": "WhatsApp/2.23.20.0 A",
    "imessage": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) "
    "Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
    "applebot": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "telegram": "TelegramBot (like TwitterBot)",
}
BROWSERS = {
    "iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Mobile/15E148 Safari/604.1",
    "none": "",
}
FORM = "application/x-www-form-urlencoded"


# helpers


def one_time_link(world: Any, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A frame, and a one-time link to it for an insurance claim: (frame, link)."""
    frame = ingest_frame(world, utcnow().replace(microsecond=0) - timedelta(minutes=5))
    body = {"camera_id": world.camera_id, "frame_id": frame["frame_id"], "purpose": GROUND}
    share = created(
        owner_token(world), **body, purpose_note="insurance claim 42", expires_in=600, one_time=True, **extra
    )
    return frame, share


def header(response: dict[str, Any], name: str) -> str:
    (value,) = response["multiValueHeaders"][name]
    return value


def policy_of(response: dict[str, Any]) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header(response, "Content-Security-Policy").split(";"))


def urls_in(page: str) -> list[str]:
    """Every absolute URL the page names in an attribute."""
    return [html.unescape(u) for u in re.findall(r'(?:src|href|action|poster|content)="([^"]*)"', page) if "//" in u]


def meta(page: str) -> dict[str, str]:
    """The page's <meta property|name=... content=...> pairs."""
    found = re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', page)
    return {name: html.unescape(content) for name, content in found}


def views(contract_id: str, share_id: str) -> int:
    found, _ = audit.entries(contract_id, limit=500)
    return sum(1 for e in found if e.action == "share.viewed" and e.subject == share_id)


def spent(share_id: str, contract_id: str) -> bool:
    (item,) = [s for s in ShareModel.by_contract.query(contract_id) if s.share_id == share_id]
    return item.consumed_at is not None


def assert_interstitial(response: dict[str, Any], frame: dict[str, Any]) -> None:
    """The interstitial: 200, the purpose and a button, and nothing of the frame (no URL, id or image)."""
    page = response["body"]
    assert response["statusCode"] == 200, page
    assert "insurance claim 42" in page
    assert "Protection of a person&#x27;s life, body or property" in page
    assert re.search(r'<form method="post"><button type="submit" name="open" value="1">', page)
    assert urls_in(page) == []
    assert frame["frame_id"] not in page
    assert "X-Amz" not in page
    assert "<img" not in page
    assert "<video" not in page
    assert "img-src" not in header(response, "Content-Security-Policy")


# a GET never spends a one-time link


@pytest.mark.parametrize("agent", [*PREVIEW_BOTS.values(), *BROWSERS.values()], ids=[*PREVIEW_BOTS, *BROWSERS])
def test_a_get_by_a_preview_bot_or_a_browser_shows_the_interstitial_and_the_link_still_opens_once(world, agent):
    # Given a one-time link to a frame
    frame, share = one_time_link(world)

    # When a chat app's preview bot (or a browser) fetches it, three times as some bots do
    pages = [open_page(share["url"], {"User-Agent": agent}) for _ in range(3)]

    # Then each answer is the interstitial, with no URL of the frame, and nothing is spent or recorded as a view
    for page in pages:
        assert_interstitial(page, frame)
    assert not spent(share["share_id"], world.contract_id)
    assert views(world.contract_id, share["share_id"]) == 0

    # When the holder presses the button
    shown = press_button(share["url"], {"User-Agent": BROWSERS["iphone"]})

    # Then the frame is shown once, with one view recorded; the link is then used up, for a POST and a GET alike
    assert shown["statusCode"] == 200, shown["body"]
    assert any(frame["frame_id"] in url for url in urls_in(shown["body"]))
    assert "This page can be opened only once." in shown["body"]
    assert spent(share["share_id"], world.contract_id)
    assert views(world.contract_id, share["share_id"]) == 1
    for again in (press_button(share["url"]), open_page(share["url"], {"User-Agent": agent})):
        assert again["statusCode"] == 404
        assert "already been opened" in again["body"]
        assert urls_in(again["body"]) == []
    assert views(world.contract_id, share["share_id"]) == 1


def test_the_interstitial_is_a_plain_same_origin_form_with_no_script(world):
    # Given a one-time link
    frame, share = one_time_link(world)

    # When it is opened
    response = open_page(share["url"])
    page = response["body"]

    # Then it is HTML for a phone, with no script and no inline handler, and its one form posts to its own address
    assert_interstitial(response, frame)
    assert header(response, "Content-Type") == "text/html; charset=utf-8"
    assert "<script" not in page.lower()
    assert " on" not in re.sub(r">[^<]*<", "><", page)
    (form,) = re.findall(r"<form[^>]*>", page)
    assert form == '<form method="post">'  # no action: the page's own address, whatever the API's stage or base path
    # and its policy lets that form post only to its own origin, loads nothing but its hashed style, and the browser
    # sends the form's origin (no-referrer would make it `Origin: null`) while never leaking the page's address
    # to another origin
    policy = policy_of(response)
    assert policy["form-action"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert set(policy) == {"default-src", "style-src", "base-uri", "form-action", "frame-ancestors"}
    assert header(response, "Referrer-Policy") == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in page
    assert header(response, "Cache-Control") == "no-store"
    assert header(response, "X-Robots-Tag") == "noindex, nofollow"


def test_no_share_page_carries_footage_in_its_preview_tags(world):
    # Given a one-time link and a plain frame link
    frame, one_time = one_time_link(world)
    plain = created(
        owner_token(world),
        camera_id=world.camera_id,
        frame_id=frame["frame_id"],
        purpose=GROUND,
        purpose_note="insurance claim 42",
        expires_in=600,
    )

    # When the interstitial, the frame's page after the button, the plain link's page and a refusal are fetched
    pages = [
        open_page(one_time["url"]),
        press_button(one_time["url"]),
        open_page(plain["url"]),
        open_page(one_time["url"]),  # used up: the refusal
    ]

    # Then each has the same neutral title and description, and no image, video or URL among its preview tags
    assert [p["statusCode"] for p in pages] == [200, 200, 200, 404]
    for response in pages:
        tags = meta(response["body"])
        assert tags["og:title"] == "共有された映像 / Shared footage"
        assert "security camera footage" in tags["og:description"]
        assert not [name for name in tags if name.startswith(("og:image", "og:video", "twitter:image", "og:url"))]
        assert "insurance claim 42" not in " ".join(tags.values())
        assert frame["frame_id"] not in " ".join(tags.values())
    # and the frame's own page policy still allows no form at all
    assert policy_of(pages[1])["form-action"] == "'none'"
    assert header(pages[1], "Referrer-Policy") == "no-referrer"


# the button's POST


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://doti.test"},
        {"Origin": "https://DOTI.test:443"},
        {"Referer": "https://doti.test/s/anything"},
        {"Origin": "https://doti.test", "Referer": "https://doti.test/s/anything?x=1"},
        {},  # a client of its own (curl): the token is the credential
    ],
    ids=["origin", "origin-default-port", "referer", "both", "neither"],
)
def test_the_button_pressed_on_the_page_itself_shows_the_frame(world, public_base_url, headers):
    # Given a one-time link on the deployment's public base URL
    assert public_base_url == "https://doti.test"
    frame, share = one_time_link(world)

    # When its button posts the form from the page's own origin, or a client posts with no origin at all
    response = press_button(share["url"], headers)

    # Then the frame is shown and the link spent
    assert response["statusCode"] == 200, response["body"]
    assert any(frame["frame_id"] in url for url in urls_in(response["body"]))
    assert spent(share["share_id"], world.contract_id)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://doti.test"},  # another scheme
        {"Origin": "https://doti.test:8443"},  # another port
        {"Origin": "https://doti.test.evil.example"},
        {"Origin": "null"},  # a sandboxed frame, or a page hiding its origin
        {"Referer": "https://evil.example/chat?link=1"},
        {"Origin": "https://doti.test", "Referer": "https://evil.example/"},
        {"Origin": "not a url"},
    ],
    ids=["other-site", "http", "other-port", "lookalike", "null", "referer", "mixed", "garbage"],
)
def test_a_button_pressed_on_another_sites_page_is_refused_and_spends_nothing(world, headers):
    # Given a one-time link
    _, share = one_time_link(world)

    # When another site's page posts the form (an auto-submitting page, a web chat client's preview)
    response = press_button(share["url"], headers)

    # Then it is a 403 page that says why, shows nothing, and neither spends the link nor records a view
    assert response["statusCode"] == 403
    assert header(response, "Content-Type") == "text/html; charset=utf-8"
    assert "not accepted" in response["body"]
    assert urls_in(response["body"]) == []
    assert not spent(share["share_id"], world.contract_id)
    assert views(world.contract_id, share["share_id"]) == 0
    # and the holder's own press still opens it
    assert press_button(share["url"])["statusCode"] == 200


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("application/json", '{"open": 1}', 415, "unsupported_media_type"),
        (None, "open=1", 415, "unsupported_media_type"),
        ("text/plain", "open=1", 415, "unsupported_media_type"),
        (FORM, "open=1&" + "x" * 2000, 413, "payload_too_large"),
    ],
    ids=["json", "no-content-type", "text", "too-large"],
)
def test_a_body_no_browser_form_sends_is_a_json_error_and_spends_nothing(world, content_type, body, status, code):
    # Given a one-time link
    _, share = one_time_link(world)

    # When something posts to it what the page's form never sends
    response = press_button(share["url"], body=body, content_type=content_type)

    # Then it is the SPEC §10 JSON error, and the link is not spent
    assert response["statusCode"] == status, response["body"]
    assert header(response, "Content-Type").startswith("application/json")
    assert f'"code":"{code}"' in response["body"].replace(" ", "")
    assert not spent(share["share_id"], world.contract_id)
    assert press_button(share["url"])["statusCode"] == 200


@pytest.mark.parametrize(
    "body", ["", "open=1", "open=1&open=2", "anything=else"], ids=["empty", "form", "twice", "other"]
)
def test_the_button_form_is_accepted_whatever_its_fields(world, body):
    # Given a one-time link
    _, share = one_time_link(world)

    # When the form arrives URL-encoded, with its field or without (the address is all the POST needs)
    response = press_button(share["url"], body=body, content_type=f"{FORM}; charset=UTF-8")

    # Then the frame is shown
    assert response["statusCode"] == 200, response["body"]


def test_an_unknown_or_revoked_one_time_link_is_a_404_for_a_get_and_a_post(world):
    # Given a one-time link that its owner revoked, and a made-up token
    _, share = one_time_link(world)
    assert revoke(owner_token(world), share["share_id"])["statusCode"] == 204

    # When either is opened or posted
    # Then each is a 404 page that explains, never the interstitial
    for response in (open_page(share["url"]), press_button(share["url"])):
        assert response["statusCode"] == 404
        assert "has withdrawn it" in response["body"]
        assert "<form" not in response["body"]
    for response in (open_page("x" * 43), press_button("x" * 43), press_button("x" * 500)):
        assert response["statusCode"] == 404
        assert "This link does not exist." in response["body"]


def test_links_that_are_not_one_time_still_open_with_a_get_and_also_with_the_button(world):
    # Given a plain frame link
    frame = ingest_frame(world, utcnow().replace(microsecond=0) - timedelta(minutes=5))
    body = {"camera_id": world.camera_id, "frame_id": frame["frame_id"], "purpose": GROUND}
    share = created(owner_token(world), **body, expires_in=600)

    # When it is fetched by a preview bot, opened by a browser, and posted
    pages = [open_page(share["url"], {"User-Agent": PREVIEW_BOTS["slack"]}), open_page(share["url"])]
    pages.append(press_button(share["url"]))

    # Then each shows the frame, as before issue 13, and each is a recorded view
    for response in pages:
        assert response["statusCode"] == 200, response["body"]
        assert "<form" not in response["body"]
        assert any(frame["frame_id"] in url for url in urls_in(response["body"]))
    assert views(world.contract_id, share["share_id"]) == 3


# the page on a phone (issue 13, point 6)


def test_the_page_stacks_labels_on_narrow_screens_never_upscales_images_and_keeps_times_whole(world):
    # Given a frame link's page
    frame = ingest_frame(world, utcnow().replace(microsecond=0) - timedelta(minutes=5))
    body = {"camera_id": world.camera_id, "frame_id": frame["frame_id"], "purpose": GROUND}
    page = open_page(created(owner_token(world), **body, expires_in=600)["url"])["body"]
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.S)

    # Then on a narrow screen each label sits over its value (one column)
    assert re.search(r"@media \(max-width:[0-9.]+rem\)\{dl\{grid-template-columns:1fr", style)
    # and an image or clip shrinks to fit but is never stretched past its natural size (its width attribute)
    assert "img,video{display:block;max-width:100%;height:auto" in style
    assert "width:100%" not in style.replace("max-width:100%", "")
    assert re.search(rf'<img src="[^"]+" width="{frame["width"]}" height="{frame["height"]}"', page)
    # and a time value never wraps inside itself
    assert "time{white-space:nowrap}" in style
    assert "<time datetime=" in page
