"""Security groups and their rules from a plan: inline `ingress`/`egress`, `aws_security_group_rule`,
`aws_vpc_security_group_ingress_rule` and `aws_vpc_security_group_egress_rule`.

The semantics are the HCL loader's (`terraform_sg`): Terraform's `aws_security_group` has no
default egress, one model `Rule` is made per peer, and a rule with no peer is a `NoPeer` rule.
Inline rules written in the configuration are authoritative for their direction; a group being
created whose planned rules have no configuration expression got them from `dynamic` blocks (which
the configuration representation leaves out), so those are authoritative too. An existing group
whose rules are not in the configuration shows the rules it has (some made by rule resources):
they are read, but not as authoritative, and copies of rule resources are dropped.
"""

from __future__ import annotations

from ..model import (
    CidrPeer,
    Direction,
    NoPeer,
    Peer,
    PrefixListPeer,
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
from .tfplan_view import View


def security_group(view: View) -> tuple[SecurityGroup, list[Rule], list[Rule]]:
    """The group, its authoritative inline rules, and the rules an existing group merely shows."""
    rules: list[Rule] = []
    shown: list[Rule] = []
    inline: set[Direction] = set()
    creating = "create" in view.instance.actions
    for direction in (Direction.INGRESS, Direction.EGRESS):
        name = direction.value
        configured = view.configured(name)
        items = view.blocks(name)
        if configured and view.value(name) is None and view.unknown(name):
            inline.add(direction)
            why = view.unresolved(name, view.describe(name), "scan the module's .tf files to read these rules")
            rules.append(unknown_rule(view.key, direction, why))
            continue
        if not items and not configured:
            continue  # not written (EC2's default egress is removed by the provider either way)
        authoritative = configured or creating
        target = rules if authoritative else shown
        if authoritative:
            inline.add(direction)
        for item in items:
            target.extend(_inline_rule(item, view.key, direction))
    group = SecurityGroup(
        key=view.key,
        name=view.address,
        origin=SgOrigin.DECLARED,
        provenance=view.provenance(),
        tags=view.tags(),
        vpc=view.text("vpc_id"),
        has_inline=frozenset(inline),
    )
    return group, rules, shown


def _inline_rule(item: View, group: SgKey, direction: Direction) -> list[Rule]:
    peers: list[Peer] = []
    for name in ("cidr_blocks", "ipv6_cidr_blocks"):
        peers.extend(_cidr_peers(item, name))
    for key in item.groups("security_groups"):
        peers.append(SgPeer(key) if isinstance(key, str) else UnresolvedPeer(key, "group"))
    peers.extend(_self_peer(item, group))
    peers.extend(_prefix_lists(item, "prefix_list_ids"))
    protocol, ports = protocol_and_ports(item, "protocol", "from_port", "to_port")
    description = _description(item)
    provenance = item.provenance()
    return [
        Rule(group, direction, protocol, ports, p, provenance, RuleForm.INLINE, description)
        for p in peers or [NoPeer()]
    ]


def _cidr_peers(view: View, name: str) -> list[Peer]:
    return [UnresolvedPeer(c, "cidr") if isinstance(c, Unresolved) else CidrPeer(c) for c in view.cidrs(name)]


def _self_peer(view: View, group: SgKey | Unresolved | None) -> list[Peer]:
    value = view.value("self")
    if value is None and view.unknown("self"):
        return [UnresolvedPeer(view.unresolved("self", view.describe("self")))]
    if value is True or value == "true":
        if group is None:
            return []  # no group: `self` names nothing (the rule is reported as naming no group)
        return [SgPeer(group) if isinstance(group, str) else UnresolvedPeer(group, "group")]
    return []


def _prefix_lists(view: View, name: str) -> list[Peer]:
    value = view.value(name)
    if value is None and view.unknown(name) and view.configured(name):
        return [PrefixListPeer(view.unresolved(name, view.describe(name)))]
    items = value if isinstance(value, list) else [] if value is None else [value]
    peers: list[Peer] = []
    for item in items:
        if item is None:
            peers.append(PrefixListPeer(view.unresolved(name, view.describe(name))))
        elif item != "":
            peers.append(PrefixListPeer(str(item)))
    return peers


def _description(view: View) -> str:
    value = view.value("description")
    return value if isinstance(value, str) else ""


def protocol_and_ports(
    view: View, protocol_field: str, from_field: str, to_field: str
) -> tuple[str | Unresolved, PortRange | Unresolved]:
    raw = view.value(protocol_field)
    if raw is None:
        if view.unknown(protocol_field):
            unresolved = view.unresolved(protocol_field, view.describe(protocol_field))
            return unresolved, unresolved
        raise view.error(protocol_field, "is not set")
    try:
        protocol = normalize_protocol(raw)
    except NetValueError as exc:
        raise view.error(protocol_field, str(exc)) from None
    low, high = view.value(from_field), view.value(to_field)
    for name, value in ((from_field, low), (to_field, high)):
        if value is None and view.unknown(name):
            return protocol, view.unresolved(name, view.describe(name))
    try:
        return protocol, port_range(protocol, low, high)
    except NetValueError as exc:
        raise view.error(from_field, f"ports: {exc}") from None


def unknown_rule(group: SgKey | Unresolved | None, direction: Direction, why: Unresolved) -> Rule:
    """Rules exist here but which is not decidable: every part of the rule is unresolved."""
    return Rule(group, direction, why, why, UnresolvedPeer(why), why.provenance)


def rule_resource(view: View) -> list[Rule]:
    group = view.group("security_group_id")  # None: the rule names no group (EKS306)
    if view.instance.type == "aws_security_group_rule":
        return _classic_rule(view, group)
    direction = Direction.INGRESS if view.instance.type.endswith("_ingress_rule") else Direction.EGRESS
    peers: list[Peer] = []
    for name in ("cidr_ipv4", "cidr_ipv6"):
        peers.extend(_cidr_peers(view, name))
    referenced = view.group("referenced_security_group_id")
    if referenced is not None:
        peers.append(SgPeer(referenced) if isinstance(referenced, str) else UnresolvedPeer(referenced, "group"))
    peers.extend(_prefix_lists(view, "prefix_list_id"))
    protocol, ports = protocol_and_ports(view, "ip_protocol", "from_port", "to_port")
    return _standalone(view, group, direction, protocol, ports, peers)


def _classic_rule(view: View, group: SgKey | Unresolved | None) -> list[Rule]:
    kind = view.value("type")
    if kind is None and view.unknown("type"):
        why = view.unresolved("type", view.describe("type"))
        return [unknown_rule(group, d, why) for d in Direction]
    if kind not in ("ingress", "egress"):
        raise view.error("type", f"type must be ingress or egress, not {kind!r}")
    direction = Direction(kind)
    peers: list[Peer] = []
    for name in ("cidr_blocks", "ipv6_cidr_blocks"):
        peers.extend(_cidr_peers(view, name))
    source = view.group("source_security_group_id")
    if source is not None:
        peers.append(SgPeer(source) if isinstance(source, str) else UnresolvedPeer(source, "group"))
    peers.extend(_self_peer(view, group))
    peers.extend(_prefix_lists(view, "prefix_list_ids"))
    protocol, ports = protocol_and_ports(view, "protocol", "from_port", "to_port")
    return _standalone(view, group, direction, protocol, ports, peers)


def _standalone(
    view: View,
    group: SgKey | Unresolved | None,
    direction: Direction,
    protocol: str | Unresolved,
    ports: PortRange | Unresolved,
    peers: list[Peer],
) -> list[Rule]:
    description = _description(view)
    provenance = view.provenance()
    return [
        Rule(group, direction, protocol, ports, p, provenance, RuleForm.STANDALONE, description)
        for p in peers or [NoPeer()]
    ]


def without_copies(shown: list[Rule], standalone: list[Rule]) -> list[Rule]:
    """The rules an existing group shows, less those that rule resources of the plan make."""
    made = {(r.group, r.direction, r.protocol, r.ports, r.peer) for r in standalone}
    return [r for r in shown if (r.group, r.direction, r.protocol, r.ports, r.peer) not in made]
