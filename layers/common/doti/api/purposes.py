"""A camera's purpose registry (Art. 2-4) in the API: the body both PUT routes take and the keys every camera view
shows. The rules themselves are doti.contracts.purposes'; the body only bounds what is parsed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from doti.contracts import purposes as rules
from doti.entities import Camera

_CODES = ", ".join(rules.PURPOSES)


class PurposesBody(BaseModel):
    # Bounds on parsing only (generous), so that the owner's role is checked before the exact rules answer 422.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    purposes: list[str] = Field(max_length=4 * len(rules.PURPOSES), description=f"one or more of {_CODES}")
    other_text: str | None = Field(
        default=None, max_length=4 * rules.MAX_OTHER_TEXT, description="with `other` only: one line, 1-200"
    )
    coverage: str = Field(max_length=4 * rules.MAX_COVERAGE, description="what the camera covers: one line, 1-300")
    people_filmed: StrictBool = Field(description="whether people are filmed at all")

    def fields(self) -> dict[str, Any]:
        return self.model_dump()


def view_values(camera: Camera) -> dict[str, Any]:
    """The registry keys of a camera view (customer and staff alike)."""
    return {
        "purposes": list(rules.ordered(camera.purposes)),
        "other_text": camera.purpose_other_text,
        "coverage": camera.coverage,
        "people_filmed": camera.people_filmed,
        "purposes_updated_at": camera.purposes_updated_at,
        "purposes_registered": rules.registration_of(camera) is not None,
    }


PURPOSES_FIELD = Field(description=f"registered purposes in display order ({_CODES}); empty until registered")
OTHER_TEXT_FIELD = Field(description="the text of purpose `other`")
COVERAGE_FIELD = Field(description="what the camera covers; null until registered")
PEOPLE_FILMED_FIELD = Field(description="whether people are filmed; null until registered")
UPDATED_FIELD = Field(description="when the purposes were last registered")
REGISTERED_FIELD = Field(description="false: the viewer warns that the camera's purposes are not registered")
