"""What the engine produces and every reporter consumes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .model import Direction, SgKey
from .net import PortSet
from .policies import DocRef

VIOLATED = "violated"
UNVERIFIED = "unverified"

SEVERITY_RANK = {"error": 3, "warning": 2, "note": 1, "never": 4}


@dataclass(frozen=True, slots=True)
class RuleFix:
    """A rule that would close a connectivity gap: on `group`, `direction`, to/from `peer`."""

    direction: Direction
    group: SgKey
    peer: SgKey | None  # a group; None with `cidr` for traffic leaving the VPC
    protocol: str
    ports: PortSet
    cidr: str | None = None


@dataclass(frozen=True, slots=True)
class FixEdit:
    """Ready-to-paste text and where it goes: inserted before `line` of `file` (1-based)."""

    file: str
    line: int
    text: str
    inside: str | None = None  # set when the text goes inside an existing block (Terraform inline rules)


@dataclass(frozen=True, slots=True)
class Finding:
    policy: str
    severity: str
    status: str  # VIOLATED or UNVERIFIED
    message: str
    file: str
    line: int
    resource: str  # logical id / address of the resource to change
    doc: DocRef
    references: tuple[DocRef, ...] = ()
    cluster: str | None = None
    node_group: str | None = None
    peer: str | None = None  # the other end, for a fingerprint that survives line moves
    fix: str | None = None
    blocks: str | None = None  # EKS900: the policy it could not decide
    rule_fixes: tuple[RuleFix, ...] = ()  # what a connectivity fix adds (rendered into `edits`)
    edits: tuple[FixEdit, ...] = ()  # ready-to-paste snippets in the syntax of the file that takes them
    suppressed: str | None = field(default=None, compare=False)  # why, when a suppression applies

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.file, self.line, self.policy, self.node_group or "", self.message)

    def fingerprint(self) -> str:
        """Stable across edits elsewhere in the file: policy, file, resource, ends; never the line."""
        parts = [
            self.policy,
            self.file,
            self.resource,
            self.cluster or "",
            self.node_group or "",
            self.peer or "",
            self.blocks or "",
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
