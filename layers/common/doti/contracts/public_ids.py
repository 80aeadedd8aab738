"""The public id of a site's notice page, /p/{public_id} (issue 15, Art. 2-4).

The id is printed on a sign in a shop window as a QR code, so anyone may read it: it is random (128 bits,
`secrets.token_urlsafe(16)`) and derived from nothing, so it reveals neither the contract nor the site id, and one
site's id says nothing of another's. A site gets its id when it is created; a site made before public ids existed
gets one the first time it is needed (the staff listing, the owner's signage), through a conditional write, so two
requests never give one site two ids.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from doti.contracts import contract_states
from doti.contracts.contract_states import Capability
from doti.entities import Contract, Site
from doti.errors import NotFound
from doti.public_urls import public_url
from doti.store import registry as store

NOTICE_PATH = "/p/"


def new_public_id() -> str:
    return secrets.token_urlsafe(16)


def ensure_public_id(site: Site) -> Site:
    """The site with its public id, given one now if it had none (the first writer's id wins a race)."""
    if site.public_id:
        return site
    return store.set_site_public_id(site.site_id, new_public_id())


def notice_url(site: Site) -> str:
    """The absolute address of the site's public notice page, on the configured public base URL."""
    return public_url(f"{NOTICE_PATH}{ensure_public_id(site).public_id}")


def serving_site(public_id: str, now: datetime) -> tuple[Site, Contract] | None:
    """The site of a public id and its contract, while the contract serves; None for every other case alike (an
    unknown id, a contract pending, suspended or ended), so a public page says nothing of which it was."""
    try:
        site = store.site_by_public_id(public_id)
        contract = store.get_contract(site.contract_id)
    except NotFound:
        return None
    if contract_states.refusal(contract, Capability.SERVING, now) is not None:
        return None
    return site, contract
