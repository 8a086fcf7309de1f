"""Security groups and their rules, the group keys a value names, and groups attached elsewhere.

Group keys, one per group however it is referenced: `cfn:<ns>:<LogicalId>` (declared),
`cluster-sg:cfn:<ns>:<Cluster>` (made by EKS), `param:<ns>:<Name>` (parameter with no value),
`import:<export>` or `import:<ns>:<expression>` (export name not computable),
`ext:<ns>:<LogicalId>[.<Attribute>]` (what another resource returns), or the literal `sg-...` id;
`<ns>` is the template's path (see `cfn_context`). A `StackValue` carries the key its group has in
another template of the same nested-stack system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import product
from typing import Any

from .. import net
from ..model import (
    CidrPeer,
    Direction,
    GroupRef,
    Guard,
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
from . import cfn_yaml
from .cfn_context import CLUSTER, SECURITY_GROUP, TOKENS, VPC, TemplateContext
from .cfn_tokens import AttRef, ImportRef, ParamRef, ResourceRef, StackValue
from .cfn_yaml import LineDict

__all__ = [
    "MAX_FORKED_CONDITIONS",
    "group_key",
    "group_keys",
    "other_resource",
    "resource_group_key",
    "rule_resource",
    "security_group",
]

MAX_FORKED_CONDITIONS = 3  # a resource is read at most 2**3 times, once per case
_NOT_ATTACHMENTS = ("Custom::", "AWS::CloudFormation::")  # these receive ids; nothing is attached
_ATTACHMENT_KEYS = ("SecurityGroupIds", "SecurityGroups", "VPCSecurityGroups", "GroupSet")
_PEERS = {
    Direction.INGRESS: ("CidrIp", "CidrIpv6", "SourceSecurityGroupId", "SourceSecurityGroupName", "SourcePrefixListId"),
    Direction.EGRESS: ("CidrIp", "CidrIpv6", "DestinationSecurityGroupId", "DestinationPrefixListId"),
}

# --- group keys ---------------------------------------------------------------------------


def _external_group(
    ctx: TemplateContext,
    key: SgKey,
    name: str,
    line: int,
    resource: str,
    imported_as: str | None = None,
    ref: GroupRef | None = None,
) -> SgKey:
    """Record a group the template names but does not declare (once per key)."""
    if key not in ctx.groups:
        where = Provenance(ctx.path, line, resource)
        ctx.groups[key] = SecurityGroup(key, name, SgOrigin.EXTERNAL, where, imported_as=imported_as, ref=ref)
    return key


def group_key(ctx: TemplateContext, lid: str, value: Any, line: int) -> SgKey | Unresolved | None:
    """The key of the group a value names; None when it names none."""
    if value is None or value == "" or isinstance(value, Unresolved):
        return value or None
    if isinstance(value, str):
        if "{{resolve:" in value:
            return Unresolved(f"dynamic reference {value} is resolved at deploy time", ctx.prov(lid, line))
        return _external_group(ctx, str(value), str(value), line, lid, ref=GroupRef("literal", str(value)))
    if isinstance(value, ParamRef):
        if str(ctx.r.parameters.get(value.name, {}).get("Type", "")).startswith(("List<", "CommaDelimited")):
            what = f"parameter {value.name} (a list of security groups) has no value"
            return Unresolved(what, ctx.prov(lid, line), f"--param {value.name}=sg-1,sg-2")
        key = f"param:{ctx.ns}:{value.name}"
        where = ctx.r.parameter_line(value.name) or line
        return _external_group(ctx, key, value.name, where, value.name, ref=GroupRef("parameter", value.name))
    if isinstance(value, StackValue):
        if value.group is None:
            return value.why
        return _external_group(ctx, value.group, value.name or value.group, line, lid, ref=value.ref)
    if isinstance(value, ImportRef):
        key = f"import:{value.name}" if value.name_resolved else f"import:{ctx.ns}:{value.name}"
        imported = value.name if value.name_resolved else None
        return _external_group(
            ctx, key, value.name, line, lid, imported, GroupRef("import", value.name) if imported else None
        )
    if isinstance(value, ResourceRef | AttRef):
        key = resource_group_key(ctx, value)
        if not key.startswith("ext:"):
            return key
        name = _written(value)
        ref = GroupRef("attribute", name) if isinstance(value, AttRef) else GroupRef("resource", value.logical_id)
        return _external_group(ctx, key, name, line, value.logical_id, ref=ref)
    raise ctx.error(lid, f"a security group must be an id, not {value!r}", line)


def resource_group_key(ctx: TemplateContext, value: ResourceRef | AttRef) -> SgKey:
    """The key of the group that `Ref` or `Fn::GetAtt` of a resource names: a group the template
    declares, the cluster security group, or (`ext:`) whatever another resource returns."""
    target, attribute = value.logical_id, getattr(value, "attribute", None)
    if ctx.types.get(target) == SECURITY_GROUP and attribute in (None, "GroupId"):
        return f"cfn:{ctx.ns}:{target}"
    if ctx.types.get(target) == CLUSTER and attribute == "ClusterSecurityGroupId":
        return f"cluster-sg:cfn:{ctx.ns}:{target}"
    return f"ext:{ctx.ns}:{_written(value)}"


def _written(value: ResourceRef | AttRef) -> str:
    return f"{value.logical_id}.{value.attribute}" if isinstance(value, AttRef) else value.logical_id


def group_keys(ctx: TemplateContext, lid: str, value: Any, line: int, strict: bool = True) -> list[SgKey | Unresolved]:
    """The keys of the groups a list names (a single token stands for a list)."""
    if isinstance(value, TOKENS):
        value = [value]
    elif value is None or not isinstance(value, list):
        if value is not None and strict:
            raise ctx.error(lid, f"a list of security groups is needed, not {value!r}", line)
        return []
    out: list[SgKey | Unresolved] = []
    for item, at in zip(value, cfn_yaml.item_lines(value, line), strict=True):
        if item is None:
            out.append(Unresolved(f"{lid} lists a null security group", ctx.prov(lid, at)))
        elif (found := group_key(ctx, lid, item, at)) is not None:
            out.append(found)
    return out


# --- security groups and rules ------------------------------------------------------------


def security_group(ctx: TemplateContext, lid: str) -> None:
    props, key, line = ctx.props(lid), f"cfn:{ctx.ns}:{lid}", ctx.line(lid)
    ctx.rules.extend(_by_case(ctx, lid, lambda: _group_rules(ctx, lid, key, props, line)))
    vpc = _vpc_of(ctx, lid, ctx.value(lid, props, "VpcId"), props.key_lines.get("VpcId", line))
    tags = ctx.tags(lid, props)
    # CloudFormation keeps inline and standalone rules side by side: no direction is exclusive.
    ref = GroupRef("resource", lid)
    ctx.groups[key] = SecurityGroup(key, lid, SgOrigin.DECLARED, ctx.prov(lid), tags, vpc, ref=ref)


def _group_rules(ctx: TemplateContext, lid: str, key: SgKey, props: LineDict, line: int) -> list[Rule]:
    rules: list[Rule] = []
    for direction, prop in ((Direction.INGRESS, "SecurityGroupIngress"), (Direction.EGRESS, "SecurityGroupEgress")):
        value, at = ctx.value(lid, props, prop), props.key_lines.get(prop, line)
        if value is None and direction is Direction.EGRESS:  # EC2 adds allow-all egress
            for internet in (net.INTERNET_V4, net.INTERNET_V6):
                peer, why = CidrPeer(internet), "default egress (no SecurityGroupEgress)"
                where, form, condition = ctx.prov(lid), RuleForm.IMPLICIT, ctx.conditions.get(lid)
                rules.append(Rule(key, direction, net.ALL, net.ALL_PORTS, peer, where, form, why, condition))
        if value is None:
            continue
        if isinstance(value, TOKENS):
            value = [ctx.unknown(lid, value, at)]
            value_lines = [at]
        elif isinstance(value, list):
            value_lines = cfn_yaml.item_lines(value, at)
        else:
            raise ctx.error(lid, f"{prop} must be a list of rules", at)
        for item, item_line in zip(value, value_lines, strict=True):
            rules.append(_rule(ctx, lid, key, direction, item, item_line, RuleForm.INLINE))
    return rules


def rule_resource(ctx: TemplateContext, lid: str, direction: Direction) -> None:
    ctx.rules.extend(_by_case(ctx, lid, lambda: [_standalone_rule(ctx, lid, direction)]))


def _standalone_rule(ctx: TemplateContext, lid: str, direction: Direction) -> Rule:
    props, line = ctx.r.resolve(ctx.props(lid), lid), ctx.line(lid)
    group = group_key(ctx, lid, props.get("GroupId"), props.key_lines.get("GroupId", line))
    if group is None and props.get("GroupName") not in (None, ""):
        group = group_key(ctx, lid, props["GroupName"], props.key_lines.get("GroupName", line))
    return _rule(ctx, lid, group, direction, props, line, RuleForm.STANDALONE)


def _by_case(ctx: TemplateContext, lid: str, build: Callable[[], list[Rule]]) -> list[Rule]:
    """The rules of a resource that depends on undecidable conditions (its own `Condition`, an
    `Fn::If`), read once per case and guarded by it, so the engine can judge case by case."""
    ctx.r.undecided_ifs.clear()
    rules = build()
    names = sorted(ctx.r.undecided_ifs)
    first_if = min(ctx.r.undecided_ifs.values(), default=0)
    exists, own = ctx.r.resource_condition(lid)
    if (not names and exists is not None) or len(names) > MAX_FORKED_CONDITIONS:
        return rules
    base = ((f"{ctx.ns}:{own}", True),) if exists is None and own else ()
    why = Unresolved(
        f"{lid} depends on condition(s) {', '.join(sorted({*names, *([str(own)] if base else [])}))}, "
        "which cannot be decided",
        ctx.prov(lid, first_if or None),
        " ".join(dict.fromkeys(h for n in [*names, own] if n and (h := ctx.r.condition_hint(n)))),
    )
    out: list[Rule] = []
    for values in product((True, False), repeat=len(names)):
        case = dict(zip(names, values, strict=True))
        with ctx.r.assuming(case):
            built = build()
        guard = Guard(base + tuple((f"{ctx.ns}:{n}", v) for n, v in case.items()), why)
        out.extend(replace(rule, condition=guard) for rule in built)
    return out


def _rule(
    ctx: TemplateContext, lid: str, group: Any, direction: Direction, item: Any, line: int, form: RuleForm
) -> Rule:
    where, condition = ctx.prov(lid, line), ctx.conditions.get(lid)
    if isinstance(item, Unresolved):
        return Rule(group, direction, item, item, UnresolvedPeer(item), where, form, "", condition)
    if not isinstance(item, LineDict):
        raise ctx.error(lid, "a security group rule must be a mapping", line)
    protocol, ports = _protocol_and_ports(ctx, lid, item, line)
    text = str(item["Description"]) if isinstance(item.get("Description"), str) else ""
    return Rule(group, direction, protocol, ports, _peer(ctx, lid, item, direction, line), where, form, text, condition)


def _protocol_and_ports(ctx: TemplateContext, lid: str, item: LineDict, line: int) -> tuple[Any, Any]:
    lines = item.key_lines
    if item.get("IpProtocol") is None:
        raise ctx.error(lid, "a rule needs IpProtocol", line)
    if isinstance(item["IpProtocol"], TOKENS):
        unknown = ctx.unknown(lid, item["IpProtocol"], lines.get("IpProtocol", line))
        return unknown, unknown
    try:
        protocol = net.normalize_protocol(item["IpProtocol"])
    except net.NetValueError as exc:
        raise ctx.error(lid, f"IpProtocol: {exc}", lines.get("IpProtocol")) from None
    if protocol not in net.PORTED_PROTOCOLS:
        return protocol, net.ALL_PORTS
    for key in ("FromPort", "ToPort"):
        if item.get(key) is None:
            raise ctx.error(lid, f"{key} is required for protocol {protocol}", line)
        if isinstance(item[key], TOKENS):
            return protocol, ctx.unknown(lid, item[key], lines.get(key, line))
        try:
            net.parse_port(item[key])
        except net.NetValueError as exc:
            raise ctx.error(lid, f"{key}: {exc}", lines.get(key)) from None
    try:
        return protocol, net.port_range(protocol, item["FromPort"], item["ToPort"])
    except net.NetValueError as exc:
        raise ctx.error(lid, str(exc), lines.get("FromPort")) from None


def _peer(ctx: TemplateContext, lid: str, item: LineDict, direction: Direction, line: int) -> Peer:
    given = [(key, item[key]) for key in _PEERS[direction] if item.get(key) not in (None, "")]
    peers = [_one_peer(ctx, lid, key, value, item.key_lines.get(key, line)) for key, value in given]
    if len(peers) <= 1:
        return peers[0] if peers else NoPeer()
    names = " and ".join(key for key, _ in given)
    if not any(isinstance(p, UnresolvedPeer) for p in peers):
        raise ctx.error(lid, f"a rule takes one peer, not {names}", line)
    return UnresolvedPeer(Unresolved(f"{lid}: the peer depends on {names}", ctx.prov(lid, line)))


def _one_peer(ctx: TemplateContext, lid: str, key: str, value: Any, line: int) -> Peer:
    if key.startswith("Cidr"):
        if isinstance(value, TOKENS):
            return UnresolvedPeer(ctx.unknown(lid, value, line))
        try:
            return CidrPeer(net.parse_cidr(value))
        except net.NetValueError as exc:
            raise ctx.error(lid, f"{key}: {exc}", line) from None
    if key.endswith("PrefixListId"):
        return PrefixListPeer(str(value) if isinstance(value, str) else ctx.unknown(lid, value, line))
    if key == "SourceSecurityGroupName" and not (
        isinstance(value, ResourceRef) and ctx.types.get(value.logical_id) == SECURITY_GROUP
    ):
        what = f"{lid} names its source group by name ({value}), which works only in a default VPC"
        return UnresolvedPeer(Unresolved(what, ctx.prov(lid, line), "use SourceSecurityGroupId"))
    group = group_key(ctx, lid, value, line)
    return SgPeer(group) if isinstance(group, str) else UnresolvedPeer(ctx.unknown(lid, group, line), "group")


def _vpc_of(ctx: TemplateContext, lid: str, value: Any, line: int) -> str | Unresolved | None:
    if value is None or isinstance(value, str | Unresolved):
        return value if not isinstance(value, str) else str(value)
    if isinstance(value, ResourceRef) and ctx.types.get(value.logical_id) == VPC:
        return f"cfn:{ctx.ns}:{value.logical_id}"
    if isinstance(value, ParamRef):
        return f"param:{ctx.ns}:{value.name}"
    if isinstance(value, ImportRef) and value.name_resolved:
        return f"import:{value.name}"
    if isinstance(value, StackValue) and value.group is not None:  # the parent's VPC, by its key
        return value.group
    return ctx.unknown(lid, value, line)


# --- groups attached to other resources ---------------------------------------------------


def other_resource(ctx: TemplateContext, lid: str) -> None:
    """The groups a resource of another type (an instance, a function, a database) is attached to."""
    if ctx.types[lid].startswith(_NOT_ATTACHMENTS):
        return
    props = ctx.props(lid)
    places = [(props, key) for key in _ATTACHMENT_KEYS if key in props]
    config = props.get("VpcConfig")
    if isinstance(config, LineDict) and "SecurityGroupIds" in config:
        places.append((config, "SecurityGroupIds"))
    for node, key in places:
        at = node.key_lines.get(key, ctx.line(lid))
        for group in group_keys(ctx, lid, ctx.value(lid, node, key), at, strict=False):
            if isinstance(group, str):
                ctx.attachments.append((group, ctx.prov(lid)))
