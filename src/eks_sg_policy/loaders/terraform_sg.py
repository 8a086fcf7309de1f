"""Security groups and their rules: inline blocks, the attribute-list form, and rule resources.

Terraform's `aws_security_group` has no default egress: only the rules written here exist.
One model `Rule` is made per peer (CIDR, group, self, prefix list); a rule with no peer is a
`NoPeer` rule, which EC2 would not create.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ScanError
from ..model import (
    CidrPeer,
    Direction,
    NoPeer,
    Peer,
    PrefixListPeer,
    Provenance,
    Rule,
    RuleForm,
    SecurityGroup,
    SgKey,
    SgOrigin,
    SgPeer,
    Unresolved,
    UnresolvedPeer,
)
from ..net import NetValueError, PortRange, normalize_protocol, port_range
from .hcl_values import ObjectValue, Ref, Unknown, force
from .terraform_extract import View, group_ref
from .terraform_resources import ResourceInstance


@dataclass(slots=True)
class Fields:
    """The fields of one rule: a nested block (read through its view) or one list item."""

    view: View
    item: dict[str, object] | None = None
    item_line: int | None = None

    def get(self, name: str) -> object:
        if self.item is None:
            return self.view.value(name)
        return force(self.item.get(name))

    def line(self, name: str) -> int:
        if self.item_line is not None:
            return self.item_line
        return self.view.line(name)


def security_group(view: View) -> tuple[SecurityGroup, list[Rule]]:
    instance = view.instance
    rules: list[Rule] = []
    inline: set[Direction] = set()
    for direction in (Direction.INGRESS, Direction.EGRESS):
        name = direction.value
        if view.has(name):
            inline.add(direction)
            rules.extend(_list_form(view, instance.key, direction))
        blocks, unknown = view.blocks(name)
        if blocks or unknown is not None:
            inline.add(direction)
        for block in blocks:
            fields = Fields(block)
            rules.extend(_inline_rule(fields, instance.key, direction, block.provenance()))
        if unknown is not None:
            why = view.unresolved(unknown, name, view.block.line)
            rules.append(unknown_rule(instance.key, direction, why, instance.condition))
    vpc = view.value("vpc_id")
    group = SecurityGroup(
        key=instance.key,
        name=instance.address,
        origin=SgOrigin.DECLARED,
        provenance=view.provenance(),
        tags=view.tags(),
        vpc=view.text("vpc_id", vpc),
        has_inline=frozenset(inline),
        ref=group_ref("resource", instance.address),
    )
    return group, rules


def _list_form(view: View, group: SgKey, direction: Direction) -> list[Rule]:
    name = direction.value
    value = view.value(name)
    if value is None:
        return []
    if isinstance(value, (Unknown, Ref)) or not isinstance(value, list):
        problem = value if isinstance(value, (Unknown, Ref)) else Unknown(f"not a list of rules ({value!r})")
        return [unknown_rule(group, direction, view.unresolved(problem, name), view.instance.condition)]
    rules: list[Rule] = []
    for item in value:
        item = force(item)
        line = _origin_line(item, view.file) or view.line(name)
        if not isinstance(item, dict):
            problem = item if isinstance(item, (Unknown, Ref)) else Unknown(f"not a rule object ({item!r})")
            rules.append(unknown_rule(group, direction, view.unresolved(problem, name, line), view.instance.condition))
            continue
        fields = Fields(view, item, line)
        rules.extend(_inline_rule(fields, group, direction, view.provenance(line)))
    return rules


def _origin_line(value: object, file: str) -> int | None:
    if isinstance(value, ObjectValue) and value.origin is not None and value.origin[0] == file:
        return value.origin[1]
    return None


def _inline_rule(fields: Fields, group: SgKey, direction: Direction, provenance: Provenance) -> list[Rule]:
    view = fields.view
    peers: list[Peer] = []
    for cidr_field in ("cidr_blocks", "ipv6_cidr_blocks"):
        peers.extend(_cidr_peers(fields, cidr_field))
    for key in view.groups("security_groups", fields.get("security_groups"), fields.line("security_groups")):
        peers.append(SgPeer(key) if isinstance(key, str) else UnresolvedPeer(key, "group"))
    peers.extend(_self_peer(fields, group))
    peers.extend(_prefix_lists(fields, "prefix_list_ids"))
    protocol, ports = protocol_and_ports(fields, "protocol", "from_port", "to_port")
    description = _description(fields)
    condition = view.instance.condition
    return [
        Rule(group, direction, protocol, ports, p, provenance, RuleForm.INLINE, description, condition)
        for p in peers or [NoPeer()]
    ]


def _cidr_peers(fields: Fields, name: str) -> list[Peer]:
    raw = fields.get(name)
    cidrs = fields.view.cidrs(name, raw, fields.line(name))
    kind = "narrow-cidr" if _narrow(raw) else "cidr"
    return [UnresolvedPeer(c, kind) if isinstance(c, Unresolved) else CidrPeer(c) for c in cidrs]


def _narrow(raw: object) -> bool:
    """Every unknown item is a template ending in a written, non-zero prefix length ("${ip}/32")."""
    items = raw if isinstance(raw, list) else [raw]
    unknown = [i for i in items if isinstance(i, Unknown)]
    return bool(unknown) and all(re.search(r"/([1-9]\d*)$", i.suffix) for i in unknown)


def _self_peer(fields: Fields, group: SgKey | Unresolved | None) -> list[Peer]:
    value = fields.get("self")
    if isinstance(value, (Unknown, Ref)):
        return [UnresolvedPeer(fields.view.unresolved(value, "self", fields.line("self")))]
    if value is True or value == "true":
        if group is None:
            return []  # no group: `self` names nothing (the rule is reported as naming no group)
        return [SgPeer(group) if isinstance(group, str) else UnresolvedPeer(group, "group")]
    return []


def _prefix_lists(fields: Fields, name: str) -> list[Peer]:
    value = fields.get(name)
    items = value if isinstance(value, list) else [] if value is None else [value]
    peers: list[Peer] = []
    for item in items:
        item = force(item)
        if item is None or item == "":
            continue
        text = fields.view.text(name, item)
        peers.append(PrefixListPeer(text if text is not None else ""))
    return peers


def _description(fields: Fields) -> str:
    value = fields.get("description")
    return str.__str__(value) if isinstance(value, str) else ""


def protocol_and_ports(
    fields: Fields, protocol_field: str, from_field: str, to_field: str
) -> tuple[str | Unresolved, PortRange | Unresolved]:
    view = fields.view
    raw = fields.get(protocol_field)
    if raw is None:
        raise ScanError(view.file, f"{view.instance.address}: {protocol_field} is not set", fields.line(protocol_field))
    if isinstance(raw, (Unknown, Ref)):
        unresolved = view.unresolved(raw, protocol_field, fields.line(protocol_field))
        return unresolved, unresolved
    try:
        protocol = normalize_protocol(str.__str__(raw) if isinstance(raw, str) else raw)
    except NetValueError as exc:
        raise ScanError(
            view.file, f"{view.instance.address}: {protocol_field}: {exc}", fields.line(protocol_field)
        ) from None
    low, high = fields.get(from_field), fields.get(to_field)
    for name, value in ((from_field, low), (to_field, high)):
        if isinstance(value, (Unknown, Ref)):
            return protocol, view.unresolved(value, name, fields.line(name))
    try:
        return protocol, port_range(protocol, low, high)
    except NetValueError as exc:
        raise ScanError(view.file, f"{view.instance.address}: ports: {exc}", fields.line(from_field)) from None


def unknown_rule(
    group: SgKey | Unresolved | None, direction: Direction, why: Unresolved, condition: Unresolved | None
) -> Rule:
    """Rules exist here but which is not decidable: every part of the rule is unresolved."""
    return Rule(group, direction, why, why, UnresolvedPeer(why), why.provenance, condition=condition)


def rule_resource(view: View) -> list[Rule]:
    instance = view.instance
    provenance = rule_provenance(instance, view)
    # Absent or null: the rule names no group (EKS306), and grants nothing to anyone.
    group = view.group("security_group_id")
    if instance.type == "aws_security_group_rule":
        return _classic_rule(view, group, provenance)
    direction = Direction.INGRESS if instance.type.endswith("_ingress_rule") else Direction.EGRESS
    fields = Fields(view)
    peers: list[Peer] = []
    for name in ("cidr_ipv4", "cidr_ipv6"):
        peers.extend(_cidr_peers(fields, name))
    referenced = view.group("referenced_security_group_id")
    if referenced is not None:
        peers.append(SgPeer(referenced) if isinstance(referenced, str) else UnresolvedPeer(referenced, "group"))
    peers.extend(_prefix_lists(fields, "prefix_list_id"))
    protocol, ports = protocol_and_ports(fields, "ip_protocol", "from_port", "to_port")
    description = _description(fields)
    condition = view.instance.condition
    return [
        Rule(group, direction, protocol, ports, p, provenance, RuleForm.STANDALONE, description, condition)
        for p in peers or [NoPeer()]
    ]


def _classic_rule(view: View, group: SgKey | Unresolved | None, provenance: Provenance) -> list[Rule]:
    kind = view.value("type")
    fields = Fields(view)
    if isinstance(kind, (Unknown, Ref)) or kind not in ("ingress", "egress"):
        problem = kind if isinstance(kind, (Unknown, Ref)) else Unknown(f"type must be ingress or egress, not {kind!r}")
        if not isinstance(kind, (Unknown, Ref)):
            raise ScanError(view.file, f"{view.instance.address}: {problem.what}", view.line("type"))
        why = view.unresolved(problem, "type")
        return [unknown_rule(group, d, why, view.instance.condition) for d in Direction]
    direction = Direction(kind)
    peers: list[Peer] = []
    for name in ("cidr_blocks", "ipv6_cidr_blocks"):
        peers.extend(_cidr_peers(fields, name))
    source = view.group("source_security_group_id")
    if source is not None:
        peers.append(SgPeer(source) if isinstance(source, str) else UnresolvedPeer(source, "group"))
    peers.extend(_self_peer(fields, group))
    peers.extend(_prefix_lists(fields, "prefix_list_ids"))
    protocol, ports = protocol_and_ports(fields, "protocol", "from_port", "to_port")
    description = _description(fields)
    condition = view.instance.condition
    return [
        Rule(group, direction, protocol, ports, p, provenance, RuleForm.STANDALONE, description, condition)
        for p in peers or [NoPeer()]
    ]


def rule_provenance(instance: ResourceInstance, view: View) -> Provenance:
    """The map entry a `for_each` rule comes from when it is an object literal written in the
    resource's own file (so that findings and skip comments share the file), else the block."""
    bindings = getattr(instance.scope, "bindings", {})
    each = bindings.get("each") if isinstance(bindings, dict) else None
    value = each.get("value") if isinstance(each, dict) else None
    if isinstance(value, ObjectValue) and value.origin is not None and value.origin[0] == instance.file:
        return Provenance(value.origin[0], value.origin[1], instance.address)
    return view.provenance()
