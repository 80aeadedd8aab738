"""What a site's public notice page and its printed sign say (issue 15 points 2 and 3, Art. 2-4): read from storage
into plain view models, which doti.viewing.notice_page and doti.viewing.signage render.

The notice page is public: anyone who scans the sign reads it. It is shown only while the contract serves (active, or
cancelling before its effective date: the cameras still record then, so people are still told). An unknown public id
and a contract that does not serve (pending, suspended, ended) give the same answer, None, so that the page says
nothing about which it was, nor whether a site exists.

The sign is the owner's: only an owner of the contract downloads it, for a site of the contract within their scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from doti.accounts import roles
from doti.accounts.roles import Permission
from doti.contracts import public_ids, purposes, registry, terms
from doti.entities import Camera, Contract, Site, User
from doti.errors import NotFound
from doti.store import registry as store
from doti.subjects.requests import camera_ref


@dataclass(frozen=True)
class CameraNotice:
    """One camera as the public sees it. `purposes` are codes in doti.contracts.purposes order; nothing registered
    is `registered=False` (the page says so plainly)."""

    name: str
    purposes: tuple[str, ...]
    other_text: str | None
    coverage: str | None
    people_filmed: bool | None
    ref: str = ""  # what the request form posts for it (doti.subjects.requests.camera_ref): names no id

    @property
    def registered(self) -> bool:
        return bool(self.purposes) or self.coverage is not None or self.people_filmed is not None


@dataclass(frozen=True)
class SiteNotice:
    site_name: str
    operator: str  # the contract's operator_name, else its name
    retention_days: int
    inquiry_contact: str | None
    cameras: tuple[CameraNotice, ...]
    public_id: str = ""  # the page's own id: its request form posts to /p/{public_id}/requests

    @property
    def purposes(self) -> tuple[str, ...]:
        """Every purpose of the site's cameras, once each, in the list's order (what the sign prints)."""
        return purposes.ordered({code for camera in self.cameras for code in camera.purposes})

    @property
    def other_texts(self) -> tuple[str, ...]:
        """The texts of the cameras' `other` purposes, once each, in camera order."""
        texts = (c.other_text for c in self.cameras if purposes.OTHER in c.purposes and c.other_text)
        return tuple(dict.fromkeys(texts))


@dataclass(frozen=True)
class Signage:
    notice: SiteNotice
    notice_url: str


def _camera_notice(public_id: str, camera: Camera) -> CameraNotice:
    chosen = purposes.ordered(camera.purposes)
    return CameraNotice(
        name=camera.name,
        ref=camera_ref(public_id, camera.camera_id),
        purposes=chosen,
        other_text=camera.purpose_other_text if purposes.OTHER in chosen else None,
        coverage=camera.coverage,
        people_filmed=camera.people_filmed,
    )


def _site_notice(contract: Contract, site: Site) -> SiteNotice:
    cameras = [c for c in store.cameras_of_contract(contract.contract_id) if c.site_id == site.site_id]
    cameras.sort(key=lambda c: (c.name, c.camera_id))
    public_id = site.public_id or ""
    return SiteNotice(
        site_name=site.name,
        public_id=public_id,
        operator=contract.operator_name or contract.name,
        retention_days=contract.retention_days,
        inquiry_contact=contract.inquiry_contact,
        cameras=tuple(_camera_notice(public_id, c) for c in cameras),
    )


def notice_for(public_id: str, *, now: datetime) -> SiteNotice | None:
    """The notice of the site whose public id this is, while its contract serves; None for every other case alike."""
    found = public_ids.serving_site(public_id, now)
    return _site_notice(found[1], found[0]) if found else None


def signage_for(user: User, site_id: str, *, now: datetime) -> Signage:
    """What an owner's sign for one of the contract's sites prints. Another role is 403; another contract's site, or
    one outside the owner's scope, is 404; a contract that does not serve raises its SPEC §3 error."""
    contract = terms.get_contract(user.contract_id)
    terms.require_serving(contract, now)
    roles.require(user, Permission.PRINT_SIGNAGE)
    site = registry.site_of_contract(user.contract_id, site_id)
    if not roles.in_scope(user, site.site_id):
        raise NotFound("site not found")
    site = public_ids.ensure_public_id(site)
    return Signage(notice=_site_notice(contract, site), notice_url=public_ids.notice_url(site))
