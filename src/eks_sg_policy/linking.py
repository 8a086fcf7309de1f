"""Join the files of one scan: an imported group becomes the group another file exports.

Format-agnostic: loaders record exports (`Model.exports`) and imported groups
(`SecurityGroup.imported_as`); this step aliases each import to its export and rewrites every key.

An export whose name still contains `${AWS::StackName}` (the stack name is a deploy-time value) is
matched as a pattern: an import whose name fits exactly one such pattern in the scan is linked to it,
and the inferred stack name is reported. `--stack-name FILE=NAME` makes the name explicit instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from .model import Export, Model, NodeGroup, Rule, SgKey, SgPeer, Unresolved

_STACK_NAME = re.escape("${AWS::StackName}")
_STACK_NAME_PATTERN = "(?P<stack>[A-Za-z][-A-Za-z0-9]*)"


def link_exports(model: Model) -> tuple[Model, list[str]]:
    """The model with imports resolved to exported groups, and notes saying what was linked."""
    exact = {e.name: e for e in model.exports if e.name_resolved and isinstance(e.value, str)}
    patterns = [(_pattern(e.name), e) for e in model.exports if not e.name_resolved and isinstance(e.value, str)]
    aliases: dict[SgKey, SgKey] = {}
    notes: list[str] = []
    for group in model.security_groups:
        name = group.imported_as
        if name is None or group.key in aliases:
            continue
        export = exact.get(name)
        if export is None:
            fits = [(m, e) for rx, e in patterns if rx is not None and (m := rx.fullmatch(name))]
            if len(fits) == 1:
                match, export = fits[0]
                notes.append(
                    f"{group.provenance}: import {name} linked to the export at {export.provenance} "
                    f"(stack name taken as {match.group('stack')})"
                )
            elif len(fits) > 1:
                places = ", ".join(str(e.provenance) for _, e in fits)
                notes.append(
                    f"{group.provenance}: import {name} fits several exports ({places}); "
                    f"name the stacks with --stack-name FILE=NAME"
                )
        if export is not None and isinstance(export.value, str) and export.value != group.key:
            aliases[group.key] = export.value
    return (rekey(model, aliases), notes) if aliases else (model, notes)


def _pattern(name: str) -> re.Pattern[str] | None:
    escaped = re.escape(name)
    if _STACK_NAME not in escaped:
        return None
    body = escaped.replace(_STACK_NAME, _STACK_NAME_PATTERN, 1).replace(_STACK_NAME, "(?P=stack)")
    return None if "\\$\\{" in body else re.compile(body)


def rekey(model: Model, aliases: Mapping[SgKey, SgKey]) -> Model:
    """Every group key rewritten through `aliases`; the aliased groups' own entries are dropped."""

    def key(value: SgKey | Unresolved) -> SgKey | Unresolved:
        return aliases.get(value, value) if isinstance(value, str) else value

    def rule(r: Rule) -> Rule:
        group = aliases.get(r.group, r.group) if isinstance(r.group, str) else r.group
        peer = SgPeer(aliases.get(r.peer.key, r.peer.key)) if isinstance(r.peer, SgPeer) else r.peer
        return replace(r, group=group, peer=peer)

    def node_group(ng: NodeGroup) -> NodeGroup:
        groups = None if ng.launch_template_groups is None else tuple(key(k) for k in ng.launch_template_groups)
        access = ng.remote_access
        if access is not None:
            access = replace(access, source_groups=tuple(key(k) for k in access.source_groups))
        return replace(ng, launch_template_groups=groups, remote_access=access)

    return replace(
        model,
        security_groups=tuple(g for g in model.security_groups if g.key not in aliases),
        rules=tuple(rule(r) for r in model.rules),
        clusters=tuple(replace(c, security_groups=tuple(key(k) for k in c.security_groups)) for c in model.clusters),
        node_groups=tuple(node_group(ng) for ng in model.node_groups),
        other_attachments=tuple((aliases.get(k, k), p) for k, p in model.other_attachments),
        exports=tuple(replace(e, value=key(e.value)) for e in model.exports),
    )


__all__ = ["Export", "link_exports", "rekey"]
