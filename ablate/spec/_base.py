"""Shared pieces of the typed study spec."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """A frozen pydantic model that rejects unknown keys: config enters in one place, typed."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())
