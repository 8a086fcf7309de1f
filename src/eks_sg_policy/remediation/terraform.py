"""Terraform fixes: an `aws_vpc_security_group_ingress_rule`/`egress_rule` resource, or an inline
`ingress`/`egress` block when the group's inline rules are authoritative (mixing would be EKS305)."""

from __future__ import annotations

import json

from ..findings import FixEdit, RuleFix
from ..model import Direction, GroupRef, SecurityGroup
from ..net import PortRange
from .common import FileText, insertion_line, rule_name


def tf_rule(
    fix: RuleFix,
    group: SecurityGroup,
    peer: SecurityGroup | None,
    file: FileText,
    anchors: dict[str, int],
    description: str,
) -> FixEdit | None:
    if group.ref is None:
        return None
    target = _reference(group.ref)
    peer_ref = _in_module(peer, group.ref.module) if peer is not None else None
    source = _reference(peer_ref) if peer_ref is not None else None
    if target is None or (peer is not None and source is None):
        return None
    if fix.direction in group.has_inline:
        line = group.provenance.line + 1
        blocks = [_inline(fix, ports, peer is not None and peer.key == group.key, source, description)
                  for ports in fix.ports.ranges]  # fmt: skip
        return FixEdit(file.path, line, "".join(blocks), inside=group.ref.name)
    line = insertion_line(group, anchors) or len(file.lines) + 1
    text = "".join(_resource(fix, group, peer, ports, target, source, description) for ports in fix.ports.ranges)
    return FixEdit(file.path, line, text)


def _in_module(group: SecurityGroup, module: str) -> GroupRef | None:
    """How code in `module` names the group: directly, or through the variable it receives it in."""
    return next((r for r in (group.ref, *group.aliases) if r is not None and r.module == module), None)


def _reference(ref: GroupRef) -> str | None:
    if ref.kind in ("resource", "data"):
        return f"{ref.name}.id"
    if ref.kind == "cluster":
        return f"{ref.name}.vpc_config[0].cluster_security_group_id"
    if ref.kind == "parameter":
        return f"var.{ref.name}"
    if ref.kind == "literal":
        return json.dumps(ref.name)
    return None


def _resource(
    fix: RuleFix,
    group: SecurityGroup,
    peer: SecurityGroup | None,
    ports: PortRange,
    target: str,
    source: str | None,
    description: str,
) -> str:
    kind = "ingress" if fix.direction is Direction.INGRESS else "egress"
    name = "_".join(w.lower() for w in rule_name(fix, group, peer, ports))
    attributes = [("security_group_id", target)]
    attributes.append(("referenced_security_group_id", source) if source else ("cidr_ipv4", json.dumps(fix.cidr)))
    if fix.protocol == "all":
        attributes.append(("ip_protocol", '"-1"'))
    else:
        attributes += [("ip_protocol", json.dumps(fix.protocol)), ("from_port", str(ports.low)),
                       ("to_port", str(ports.high))]  # fmt: skip
    attributes.append(("description", json.dumps(description)))
    width = max(len(k) for k, _ in attributes)
    body = "".join(f"  {k.ljust(width)} = {v}\n" for k, v in attributes)
    return f'resource "aws_vpc_security_group_{kind}_rule" "{name}" {{\n{body}}}\n\n'


def _inline(fix: RuleFix, ports: PortRange, self_peer: bool, source: str | None, description: str) -> str:
    kind = "ingress" if fix.direction is Direction.INGRESS else "egress"
    protocol, low, high = ("-1", 0, 0) if fix.protocol == "all" else (fix.protocol, ports.low, ports.high)
    attributes = [("description", json.dumps(description)), ("protocol", json.dumps(protocol)),
                  ("from_port", str(low)), ("to_port", str(high))]  # fmt: skip
    if self_peer:
        attributes.append(("self", "true"))
    elif source is not None:
        attributes.append(("security_groups", f"[{source}]"))
    else:
        attributes.append(("cidr_blocks", json.dumps([fix.cidr or "0.0.0.0/0"])))
    width = max(len(k) for k, _ in attributes)
    body = "".join(f"    {k.ljust(width)} = {v}\n" for k, v in attributes)
    return f"  {kind} {{\n{body}  }}\n"
