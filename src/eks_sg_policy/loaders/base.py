"""What a loader returns for one input unit (a template, a Terraform module, a plan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..model import Model, Provenance


@dataclass(frozen=True, slots=True)
class Suppression:
    """A `skip` written next to a resource: the policy it silences and why, until when."""

    policy: str
    reason: str
    resource: str  # logical id / address of the resource it is written on
    provenance: Provenance
    expires: date | None = None


@dataclass(frozen=True, slots=True)
class LoadedUnit:
    files: tuple[str, ...]
    model: Model
    suppressions: tuple[Suppression, ...] = ()
    notes: tuple[str, ...] = field(default=())  # said under --verbose (e.g. modules not evaluated)
