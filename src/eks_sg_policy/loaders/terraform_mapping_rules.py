"""Security groups and their rules for both Terraform loaders (HCL modules and plan JSON).

Terraform's `aws_security_group` has no default egress: only the rules written exist. One model
`Rule` is made per peer (CIDR, group, self, prefix list); a rule with no peer is a `NoPeer` rule,
which EC2 would not create. Which inline rules a group has (blocks, the attribute-list form, what
a plan shows) is each loader's to find; a rule is made from its fields here, through
`terraform_mapping_view.RuleFields`.
"""

from __future__ import annotations

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
from .terraform_mapping_view import ResourceView, RuleFields

Group = SgKey | Unresolved | None


def declared_group(view: ResourceView, inline: set[Direction]) -> SecurityGroup:
    """An `aws_security_group`; `inline`: the directions its inline rules are authoritative for."""
    vpc = view.text("vpc_id")
    return SecurityGroup(
        key=view.key,
        name=view.address,
        origin=SgOrigin.DECLARED,
        provenance=view.provenance(),
        tags=view.tags(),
        vpc=vpc,
        has_inline=frozenset(inline),
        ref=view.group_ref("resource"),
    )


def inline_rules(fields: RuleFields, group: SgKey, direction: Direction) -> list[Rule]:
    """The rules of one `ingress`/`egress` block (or list item) of `group`."""
    peers: list[Peer] = []
    for name in ("cidr_blocks", "ipv6_cidr_blocks"):
        peers.extend(_cidr_peers(fields, name))
    peers.extend(_group_peer(key) for key in fields.groups("security_groups"))
    peers.extend(_self_peer(fields, group))
    peers.extend(_prefix_lists(fields, "prefix_list_ids"))
    return _rules(fields, group, direction, peers, "protocol", RuleForm.INLINE, fields.provenance())


def rule_resource(view: ResourceView, provenance: Provenance) -> list[Rule]:
    """`aws_security_group_rule`, `aws_vpc_security_group_ingress_rule` or `..._egress_rule`;
    `provenance`: where its rules are reported."""
    # Absent or null: the rule names no group (EKS306), and grants nothing to anyone.
    group = view.group("security_group_id")
    if view.resource_type == "aws_security_group_rule":
        return _classic_rule(view, group, provenance)
    direction = Direction.INGRESS if view.resource_type.endswith("_ingress_rule") else Direction.EGRESS
    peers: list[Peer] = []
    for name in ("cidr_ipv4", "cidr_ipv6"):
        peers.extend(_cidr_peers(view, name))
    referenced = view.group("referenced_security_group_id")
    if referenced is not None:
        peers.append(_group_peer(referenced))
    peers.extend(_prefix_lists(view, "prefix_list_id"))
    return _rules(view, group, direction, peers, "ip_protocol", RuleForm.STANDALONE, provenance)


def _classic_rule(view: ResourceView, group: Group, provenance: Provenance) -> list[Rule]:
    kind = view.value("type")
    why = view.undecided("type")
    if why is not None:
        return [unknown_rule(group, d, why, view.condition) for d in Direction]
    if kind not in ("ingress", "egress"):
        raise view.error("type", f"type must be ingress or egress, not {kind!r}", named=False)
    direction = Direction(kind)
    peers: list[Peer] = []
    for name in ("cidr_blocks", "ipv6_cidr_blocks"):
        peers.extend(_cidr_peers(view, name))
    source = view.group("source_security_group_id")
    if source is not None:
        peers.append(_group_peer(source))
    peers.extend(_self_peer(view, group))
    peers.extend(_prefix_lists(view, "prefix_list_ids"))
    return _rules(view, group, direction, peers, "protocol", RuleForm.STANDALONE, provenance)


def _rules(
    fields: RuleFields,
    group: Group,
    direction: Direction,
    peers: list[Peer],
    protocol_field: str,
    form: RuleForm,
    provenance: Provenance,
) -> list[Rule]:
    protocol, ports = protocol_and_ports(fields, protocol_field, "from_port", "to_port")
    description = _description(fields)
    condition = fields.condition
    return [
        Rule(group, direction, protocol, ports, p, provenance, form, description, condition)
        for p in peers or [NoPeer()]
    ]


def _group_peer(key: SgKey | Unresolved) -> Peer:
    return SgPeer(key) if isinstance(key, str) else UnresolvedPeer(key, "group")


def _cidr_peers(fields: RuleFields, name: str) -> list[Peer]:
    cidrs = fields.cidrs(name)
    kind = "narrow-cidr" if fields.narrow(name) else "cidr"
    return [UnresolvedPeer(c, kind) if isinstance(c, Unresolved) else CidrPeer(c) for c in cidrs]


def _self_peer(fields: RuleFields, group: Group) -> list[Peer]:
    why = fields.undecided("self")
    if why is not None:
        return [UnresolvedPeer(why)]
    value = fields.value("self")
    if value is True or value == "true":
        if group is None:
            return []  # no group: `self` names nothing (the rule is reported as naming no group)
        return [_group_peer(group)]
    return []


def _prefix_lists(fields: RuleFields, name: str) -> list[Peer]:
    return [PrefixListPeer(text) for text in fields.texts(name)]


def _description(fields: RuleFields) -> str:
    value = fields.value("description")
    return str.__str__(value) if isinstance(value, str) else ""


def protocol_and_ports(
    fields: RuleFields, protocol_field: str, from_field: str, to_field: str
) -> tuple[str | Unresolved, PortRange | Unresolved]:
    raw = fields.value(protocol_field)
    why = fields.undecided(protocol_field)
    if why is not None:
        return why, why
    if raw is None:
        raise fields.not_set(protocol_field)
    try:
        protocol = normalize_protocol(str.__str__(raw) if isinstance(raw, str) else raw)
    except NetValueError as exc:
        raise fields.error(protocol_field, str(exc)) from None
    low, high = fields.value(from_field), fields.value(to_field)
    for name in (from_field, to_field):
        why = fields.undecided(name)
        if why is not None:
            return protocol, why
    try:
        return protocol, port_range(protocol, low, high)
    except NetValueError as exc:
        raise fields.error(from_field, f"ports: {exc}", named=False) from None


def unknown_rule(
    group: Group,
    direction: Direction,
    why: Unresolved,
    condition: Unresolved | None = None,
    form: RuleForm = RuleForm.STANDALONE,
) -> Rule:
    """Rules exist here but which is not decidable: every part of the rule is unresolved."""
    return Rule(group, direction, why, why, UnresolvedPeer(why), why.provenance, form, condition=condition)
