"""Ready-to-paste fixes: the rules a connectivity finding needs, written in the syntax of the file
that takes them (CloudFormation YAML or JSON, Terraform HCL), with where to insert them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from ..findings import Finding, FixEdit, RuleFix
from ..model import SecurityGroup
from ..topology import Topology
from .cloudformation import cfn_rule_resource
from .common import FileText, anchor_lines
from .terraform import tf_rule

Reader = Callable[[str], str | None]


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


def attach_edits(findings: Iterable[Finding], topology: Topology, read: Reader = _read) -> list[Finding]:
    """Each finding with rule fixes gets `edits`: snippets and where they go, when they can be written."""
    anchors = anchor_lines(topology)
    cache: dict[str, FileText | None] = {}

    def text_of(path: str) -> FileText | None:
        if path not in cache:
            raw = read(path)
            cache[path] = FileText(path, raw) if raw is not None else None
        return cache[path]

    out = []
    for finding in findings:
        edits = [e for fix in finding.rule_fixes if (e := _edit(fix, finding, topology, anchors, text_of))]
        out.append(replace(finding, edits=_merge(edits)) if edits else finding)
    return out


def _edit(
    fix: RuleFix,
    finding: Finding,
    topology: Topology,
    anchors: dict[str, int],
    text_of: Callable[[str], FileText | None],
) -> FixEdit | None:
    group = topology.group(fix.group)
    peer: SecurityGroup | None = topology.group(fix.peer) if fix.peer else None
    if group is None or group.ref is None or (fix.peer and (peer is None or peer.ref is None)):
        return None
    if _installed_copy(group.provenance.file):
        return None  # `terraform init` overwrites it: the fix goes through the module's inputs
    file = text_of(group.provenance.file)
    if file is None:
        return None
    description = f"{finding.policy}: {finding.doc.table} - {finding.doc.row}"
    if file.is_terraform:
        return tf_rule(fix, group, peer, file, anchors, description)
    return cfn_rule_resource(fix, group, peer, file, anchors, description)


def _installed_copy(path: str) -> bool:
    """A file of a module `terraform init` downloaded (under `.terraform/`), not the user's code."""
    return ".terraform" in Path(path).parts


def _merge(edits: list[FixEdit]) -> tuple[FixEdit, ...]:
    """Snippets that go to the same place become one edit, in order."""
    merged: dict[tuple[str, int, str | None], FixEdit] = {}
    for edit in edits:
        key = (edit.file, edit.line, edit.inside)
        known = merged.get(key)
        merged[key] = edit if known is None else replace(known, text=known.text + edit.text)
    return tuple(merged.values())
