"""CloudFormation template -> model: security groups, rules, clusters, node groups, suppressions.

Group keys, one per group however it is referenced: `cfn:<file>:<LogicalId>` (declared),
`cluster-sg:cfn:<file>:<Cluster>` (made by EKS), `param:<file>:<Name>` (parameter with no value),
`import:<export>` or `import:<file>:<expression>` (export name not computable),
`ext:<file>:<LogicalId>[.<Attribute>]` (what another resource returns), or the literal `sg-...` id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from itertools import product
from typing import Any

from .. import net
from ..errors import ScanError
from ..model import (
    CidrPeer,
    Cluster,
    ClusterLink,
    Direction,
    Export,
    FargateProfile,
    GroupRef,
    Guard,
    Model,
    NodeGroup,
    NodeGroupKind,
    NoPeer,
    Peer,
    PrefixListPeer,
    Provenance,
    RemoteAccess,
    Rule,
    RuleForm,
    SecurityGroup,
    SgKey,
    SgOrigin,
    SgPeer,
    Unresolved,
    UnresolvedPeer,
    Vpc,
)
from . import cfn_yaml
from .base import LoadedUnit, Suppression
from .cfn_intrinsics import NO_VALUE, AttRef, ImportRef, ParamRef, Resolver, ResourceRef, is_intrinsic
from .cfn_yaml import LineDict

SECURITY_GROUP, CLUSTER, VPC = "AWS::EC2::SecurityGroup", "AWS::EKS::Cluster", "AWS::EC2::VPC"
LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION = "AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration"
_EKS_RELATED = re.compile(r"eks|node|cluster|control.?plane|security.?group|worker", re.I)
_NOT_EKS = re.compile(r"iam|kms|log|bucket|dns", re.I)
MAX_FORKED_CONDITIONS = 3  # a resource is read at most 2**3 times, once per case
_TOKENS = (Unresolved, ResourceRef, AttRef, ParamRef, ImportRef)  # values whose text is not known
_NOT_ATTACHMENTS = ("Custom::", "AWS::CloudFormation::")  # these receive ids; nothing is attached
_ATTACHMENT_KEYS = ("SecurityGroupIds", "SecurityGroups", "VPCSecurityGroups", "GroupSet")
_CLUSTER_TAG = "kubernetes.io/cluster/"
_EKS_USER_DATA = re.compile(r"bootstrap\.sh|nodeadm|/etc/eks/|\beks\b", re.I)
_CLUSTER_PARAMETER = re.compile(r"cluster.?name", re.I)
_PEERS = {
    Direction.INGRESS: ("CidrIp", "CidrIpv6", "SourceSecurityGroupId", "SourceSecurityGroupName", "SourcePrefixListId"),
    Direction.EGRESS: ("CidrIp", "CidrIpv6", "DestinationSecurityGroupId", "DestinationPrefixListId"),
}


def load_cloudformation(path: str, text: str, params: Mapping[str, str]) -> LoadedUnit | None:
    """The model of one template; None when the file parses but is not CloudFormation."""
    return load_cloudformation_document(path, cfn_yaml.load(path, text), params)


def load_cloudformation_document(path: str, document: Any, params: Mapping[str, str]) -> LoadedUnit | None:
    """The same for a template already parsed into `LineDict`/`LineList`/`LineStr` nodes."""
    resources = cfn_yaml.template_resources(path, document)
    return None if resources is None else _Template(path, document, resources, params).load()


class _Template:
    def __init__(self, path: str, document: LineDict, resources: LineDict, params: Mapping[str, str]) -> None:
        self.path, self.resources, self.document = path, resources, document
        self.notes: list[str] = []  # said under --verbose
        if "Transform" in document and resources is not document:
            line = document.key_lines["Transform"]
            self.notes.append(f"{path}:{line}: Transform is not expanded; resources it adds are not checked")
        self.r = Resolver(path, LineDict() if resources is document else document, params, resources)
        self.types: dict[str, str] = {}
        for lid, resource in resources.items():
            if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
                raise ScanError(path, f"{lid}: a resource must be a mapping with a Type", line=self._line(lid))
            self.types[str(lid)] = str(resource["Type"])
        self.present: list[str] = []
        self.conditions: dict[str, Unresolved] = {}  # resources that exist only under an undecided condition
        self.groups: dict[SgKey, SecurityGroup] = {}
        self.rules: list[Rule] = []
        self.clusters: list[Cluster] = []
        self.clusters_by_name: dict[str, str] = {}  # canonical Name -> cluster key
        self.node_groups: list[NodeGroup] = []
        self.fargate: list[FargateProfile] = []
        self.vpcs: dict[str, tuple[list[net.IPNetwork], bool]] = {}
        self.attachments: list[tuple[SgKey, Provenance]] = []
        self.unevaluated: list[Unresolved] = []  # nested stacks that may hold EKS resources
        self.unknown_tag_keys: dict[tuple[str, str], Unresolved] = {}
        self.eks_template = any(t.startswith("AWS::EKS::") for t in self.types.values()) or any(
            _CLUSTER_PARAMETER.search(p) for p in self.r.parameters
        )

    def load(self) -> LoadedUnit:
        for lid in map(str, self.resources):
            exists, condition = self.r.resource_condition(lid)
            if exists is None:
                what = f"{lid} exists only if condition {condition} is true, which cannot be decided"
                self.conditions[lid] = Unresolved(what, self._prov(lid), self.r.condition_hint(str(condition)))
            if exists is not False:
                self.present.append(lid)
            else:
                self.notes.append(
                    f"{self.path}:{self._line(lid)}: {lid} is not created (condition {condition} is false)"
                )
        handlers: dict[str, Callable[[str], None]] = {
            SECURITY_GROUP: self._security_group,
            "AWS::EC2::SecurityGroupIngress": lambda lid: self._rule_resource(lid, Direction.INGRESS),
            "AWS::EC2::SecurityGroupEgress": lambda lid: self._rule_resource(lid, Direction.EGRESS),
            "AWS::EKS::Nodegroup": self._managed_node_group,
            "AWS::AutoScaling::AutoScalingGroup": self._auto_scaling_group,
            "AWS::EKS::FargateProfile": self._fargate_profile,
            VPC: lambda lid: self._add_cidr(lid, lid, self._get(lid, self._props(lid), "CidrBlock")),
            "AWS::EC2::VPCCidrBlock": self._vpc_cidr_block,
            LAUNCH_TEMPLATE: lambda lid: None,  # read through the node groups that use them
            LAUNCH_CONFIGURATION: lambda lid: None,
            "AWS::CloudFormation::Stack": self._nested_stack,
        }
        for lid in sorted(self.present, key=lambda i: self.types[i] != CLUSTER):  # clusters first
            handlers.get(self.types[lid], self._cluster if self.types[lid] == CLUSTER else self._other)(lid)
        suppressions = tuple(s for lid in map(str, self.resources) for s in self._suppressions(lid))
        vpcs = tuple(Vpc(f"cfn:{self.path}:{i}", tuple(c), self._prov(i)) for i, (c, ok) in self.vpcs.items() if ok)
        exports = self._exports()
        model = Model(
            tuple(self.groups.values()), tuple(self.rules), tuple(self.clusters), tuple(self.node_groups),
            tuple(self.fargate), vpcs, tuple(self.attachments), exports, tuple(self.unevaluated),
        )  # fmt: skip
        return LoadedUnit((self.path,), model, suppressions, tuple(self.notes))

    def _exports(self) -> tuple[Export, ...]:
        """Outputs exported under a name whose value is a security group."""
        outputs = self.document.get("Outputs")
        if not isinstance(outputs, LineDict):
            return ()
        found: list[Export] = []
        for name, output in outputs.items():
            if not isinstance(output, LineDict) or not isinstance(output.get("Export"), LineDict):
                continue
            line = outputs.key_lines.get(name, 0)
            export_name = output["Export"].get("Name")
            if export_name is None or "Value" not in output:
                continue
            value = self.r.resolve(output["Value"], str(name))
            if not isinstance(value, ResourceRef | AttRef | ParamRef | ImportRef) and not (
                isinstance(value, str) and value.startswith("sg-")
            ):
                continue
            if isinstance(value, ResourceRef | AttRef) and not self._is_group_reference(value):
                continue
            group = self._group(str(name), value, line)
            text = self.r.canonical(export_name, str(name))
            resolved = "${" not in text
            if group is not None:
                found.append(Export(text, resolved, group, Provenance(self.path, line, str(name))))
        return tuple(found)

    def _is_group_reference(self, value: ResourceRef | AttRef) -> bool:
        target, attribute = value.logical_id, getattr(value, "attribute", None)
        if self.types.get(target) == SECURITY_GROUP:
            return attribute in (None, "GroupId")
        return self.types.get(target) == CLUSTER and attribute == "ClusterSecurityGroupId"

    # --- reading values -------------------------------------------------------------------

    def _line(self, lid: str) -> int:
        return int(self.resources.key_lines.get(lid, 0))

    def _prov(self, lid: str, line: int | None = None) -> Provenance:
        return Provenance(self.path, line or self._line(lid), lid)

    def _error(self, lid: str, message: str, line: int | None) -> ScanError:
        return ScanError(self.path, f"{lid}: {message}", line=line or self._line(lid))

    def _props(self, lid: str) -> LineDict:
        props = self.resources[lid].get("Properties")
        if props is not None and (not isinstance(props, LineDict) or is_intrinsic(props)):
            raise self._error(lid, "Properties must be a mapping", self.resources[lid].key_lines.get("Properties"))
        return props if props is not None else LineDict(line=self._line(lid))

    def _get(self, lid: str, node: LineDict, key: str) -> Any:
        """A property's resolved value; None when absent, null or AWS::NoValue."""
        value = self.r.resolve(node[key], lid) if key in node else None
        return None if value is NO_VALUE else value

    def _map(self, lid: str, node: LineDict, key: str) -> LineDict | Unresolved | None:
        """A nested mapping left unresolved inside (only an intrinsic that yields it is evaluated)."""
        raw = node.get(key)
        if is_intrinsic(raw):
            raw = self.r.resolve(raw, lid)
        if raw is None or raw is NO_VALUE or isinstance(raw, LineDict | Unresolved):
            return None if raw is NO_VALUE else raw
        raise self._error(lid, f"{key} must be a mapping", node.key_lines.get(key))

    def _unknown(self, lid: str, value: Any, line: int) -> Unresolved:
        return self.r.unresolved(value, line, lid)

    def _text(self, lid: str, node: LineDict, key: str) -> str | Unresolved | None:
        value = self._get(lid, node, key)
        if isinstance(value, bool | list | dict):
            raise self._error(lid, f"{key} must be a string, not {value!r}", node.key_lines.get(key))
        if isinstance(value, _TOKENS):
            return self._unknown(lid, value, node.key_lines.get(key, self._line(lid)))
        return None if value is None else str(value)

    # --- group keys -----------------------------------------------------------------------

    def _external(
        self,
        key: SgKey,
        name: str,
        line: int,
        resource: str,
        imported_as: str | None = None,
        ref: GroupRef | None = None,
    ) -> SgKey:
        if key not in self.groups:
            where = Provenance(self.path, line, resource)
            self.groups[key] = SecurityGroup(key, name, SgOrigin.EXTERNAL, where, imported_as=imported_as, ref=ref)
        return key

    def _group(self, lid: str, value: Any, line: int) -> SgKey | Unresolved | None:
        """The key of the group a value names; None when it names none."""
        if value is None or value == "" or isinstance(value, Unresolved):
            return value or None
        if isinstance(value, str):
            if "{{resolve:" in value:
                return Unresolved(f"dynamic reference {value} is resolved at deploy time", self._prov(lid, line))
            return self._external(str(value), str(value), line, lid, ref=GroupRef("literal", str(value)))
        if isinstance(value, ParamRef):
            if str(self.r.parameters.get(value.name, {}).get("Type", "")).startswith(("List<", "CommaDelimited")):
                what = f"parameter {value.name} (a list of security groups) has no value"
                return Unresolved(what, self._prov(lid, line), f"--param {value.name}=sg-1,sg-2")
            key = f"param:{self.path}:{value.name}"
            where = self.r.parameter_line(value.name) or line
            return self._external(key, value.name, where, value.name, ref=GroupRef("parameter", value.name))
        if isinstance(value, ImportRef):
            key = f"import:{value.name}" if value.name_resolved else f"import:{self.path}:{value.name}"
            imported = value.name if value.name_resolved else None
            return self._external(
                key, value.name, line, lid, imported, GroupRef("import", value.name) if imported else None
            )
        if isinstance(value, ResourceRef | AttRef):
            target, attribute = value.logical_id, getattr(value, "attribute", None)
            if self.types.get(target) == SECURITY_GROUP and attribute in (None, "GroupId"):
                return f"cfn:{self.path}:{target}"
            if self.types.get(target) == CLUSTER and attribute == "ClusterSecurityGroupId":
                return f"cluster-sg:cfn:{self.path}:{target}"
            name = target if attribute is None else f"{target}.{attribute}"
            ref = GroupRef("attribute", name) if attribute else GroupRef("resource", target)
            return self._external(f"ext:{self.path}:{name}", name, line, target, ref=ref)
        raise self._error(lid, f"a security group must be an id, not {value!r}", line)

    def _groups(self, lid: str, value: Any, line: int, strict: bool = True) -> list[SgKey | Unresolved]:
        if isinstance(value, _TOKENS):
            value = [value]
        elif value is None or not isinstance(value, list):
            if value is not None and strict:
                raise self._error(lid, f"a list of security groups is needed, not {value!r}", line)
            return []
        out: list[SgKey | Unresolved] = []
        for item, at in zip(value, cfn_yaml.item_lines(value, line), strict=True):
            if item is None:
                out.append(Unresolved(f"{lid} lists a null security group", self._prov(lid, at)))
            elif (found := self._group(lid, item, at)) is not None:
                out.append(found)
        return out

    # --- security groups and rules --------------------------------------------------------

    def _security_group(self, lid: str) -> None:
        props, key, line = self._props(lid), f"cfn:{self.path}:{lid}", self._line(lid)
        self.rules.extend(self._by_case(lid, lambda: self._group_rules(lid, key, props, line)))
        vpc = self._vpc_of(lid, self._get(lid, props, "VpcId"), props.key_lines.get("VpcId", line))
        tags = self._tags(lid, props)
        # CloudFormation keeps inline and standalone rules side by side: no direction is exclusive.
        ref = GroupRef("resource", lid)
        self.groups[key] = SecurityGroup(key, lid, SgOrigin.DECLARED, self._prov(lid), tags, vpc, ref=ref)

    def _group_rules(self, lid: str, key: SgKey, props: LineDict, line: int) -> list[Rule]:
        rules: list[Rule] = []
        for direction, prop in ((Direction.INGRESS, "SecurityGroupIngress"), (Direction.EGRESS, "SecurityGroupEgress")):
            value, at = self._get(lid, props, prop), props.key_lines.get(prop, line)
            if value is None and direction is Direction.EGRESS:  # EC2 adds allow-all egress
                for internet in (net.INTERNET_V4, net.INTERNET_V6):
                    peer, why = CidrPeer(internet), "default egress (no SecurityGroupEgress)"
                    where, form, condition = self._prov(lid), RuleForm.IMPLICIT, self.conditions.get(lid)
                    rules.append(Rule(key, direction, net.ALL, net.ALL_PORTS, peer, where, form, why, condition))
            if value is None:
                continue
            if isinstance(value, _TOKENS):
                value = [self._unknown(lid, value, at)]
                value_lines = [at]
            elif isinstance(value, list):
                value_lines = cfn_yaml.item_lines(value, at)
            else:
                raise self._error(lid, f"{prop} must be a list of rules", at)
            for item, item_line in zip(value, value_lines, strict=True):
                rules.append(self._rule(lid, key, direction, item, item_line, RuleForm.INLINE))
        return rules

    def _rule_resource(self, lid: str, direction: Direction) -> None:
        self.rules.extend(self._by_case(lid, lambda: [self._standalone_rule(lid, direction)]))

    def _standalone_rule(self, lid: str, direction: Direction) -> Rule:
        props, line = self.r.resolve(self._props(lid), lid), self._line(lid)
        group = self._group(lid, props.get("GroupId"), props.key_lines.get("GroupId", line))
        if group is None and props.get("GroupName") not in (None, ""):
            group = self._group(lid, props["GroupName"], props.key_lines.get("GroupName", line))
        return self._rule(lid, group, direction, props, line, RuleForm.STANDALONE)

    def _by_case(self, lid: str, build: Callable[[], list[Rule]]) -> list[Rule]:
        """The rules of a resource that depends on undecidable conditions (its own `Condition`, an
        `Fn::If`), read once per case and guarded by it, so the engine can judge case by case."""
        self.r.undecided_ifs.clear()
        rules = build()
        names = sorted(self.r.undecided_ifs)
        first_if = min(self.r.undecided_ifs.values(), default=0)
        exists, own = self.r.resource_condition(lid)
        if (not names and exists is not None) or len(names) > MAX_FORKED_CONDITIONS:
            return rules
        base = ((f"{self.path}:{own}", True),) if exists is None and own else ()
        why = Unresolved(
            f"{lid} depends on condition(s) {', '.join(sorted({*names, *([str(own)] if base else [])}))}, "
            "which cannot be decided",
            self._prov(lid, first_if or None),
            " ".join(dict.fromkeys(h for n in [*names, own] if n and (h := self.r.condition_hint(n)))),
        )
        out: list[Rule] = []
        for values in product((True, False), repeat=len(names)):
            case = dict(zip(names, values, strict=True))
            with self.r.assuming(case):
                built = build()
            guard = Guard(base + tuple((f"{self.path}:{n}", v) for n, v in case.items()), why)
            out.extend(replace(rule, condition=guard) for rule in built)
        return out

    def _rule(self, lid: str, group: Any, direction: Direction, item: Any, line: int, form: RuleForm) -> Rule:
        where, condition = self._prov(lid, line), self.conditions.get(lid)
        if isinstance(item, Unresolved):
            return Rule(group, direction, item, item, UnresolvedPeer(item), where, form, "", condition)
        if not isinstance(item, LineDict):
            raise self._error(lid, "a security group rule must be a mapping", line)
        protocol, ports = self._protocol_and_ports(lid, item, line)
        text = str(item["Description"]) if isinstance(item.get("Description"), str) else ""
        return Rule(
            group, direction, protocol, ports, self._peer(lid, item, direction, line), where, form, text, condition
        )

    def _protocol_and_ports(self, lid: str, item: LineDict, line: int) -> tuple[Any, Any]:
        lines = item.key_lines
        if item.get("IpProtocol") is None:
            raise self._error(lid, "a rule needs IpProtocol", line)
        if isinstance(item["IpProtocol"], _TOKENS):
            unknown = self._unknown(lid, item["IpProtocol"], lines.get("IpProtocol", line))
            return unknown, unknown
        try:
            protocol = net.normalize_protocol(item["IpProtocol"])
        except net.NetValueError as exc:
            raise self._error(lid, f"IpProtocol: {exc}", lines.get("IpProtocol")) from None
        if protocol not in net.PORTED_PROTOCOLS:
            return protocol, net.ALL_PORTS
        for key in ("FromPort", "ToPort"):
            if item.get(key) is None:
                raise self._error(lid, f"{key} is required for protocol {protocol}", line)
            if isinstance(item[key], _TOKENS):
                return protocol, self._unknown(lid, item[key], lines.get(key, line))
            try:
                net.parse_port(item[key])
            except net.NetValueError as exc:
                raise self._error(lid, f"{key}: {exc}", lines.get(key)) from None
        try:
            return protocol, net.port_range(protocol, item["FromPort"], item["ToPort"])
        except net.NetValueError as exc:
            raise self._error(lid, str(exc), lines.get("FromPort")) from None

    def _peer(self, lid: str, item: LineDict, direction: Direction, line: int) -> Peer:
        given = [(key, item[key]) for key in _PEERS[direction] if item.get(key) not in (None, "")]
        peers = [self._one_peer(lid, key, value, item.key_lines.get(key, line)) for key, value in given]
        if len(peers) <= 1:
            return peers[0] if peers else NoPeer()
        names = " and ".join(key for key, _ in given)
        if not any(isinstance(p, UnresolvedPeer) for p in peers):
            raise self._error(lid, f"a rule takes one peer, not {names}", line)
        return UnresolvedPeer(Unresolved(f"{lid}: the peer depends on {names}", self._prov(lid, line)))

    def _one_peer(self, lid: str, key: str, value: Any, line: int) -> Peer:
        if key.startswith("Cidr"):
            if isinstance(value, _TOKENS):
                return UnresolvedPeer(self._unknown(lid, value, line))
            try:
                return CidrPeer(net.parse_cidr(value))
            except net.NetValueError as exc:
                raise self._error(lid, f"{key}: {exc}", line) from None
        if key.endswith("PrefixListId"):
            return PrefixListPeer(str(value) if isinstance(value, str) else self._unknown(lid, value, line))
        if key == "SourceSecurityGroupName" and not (
            isinstance(value, ResourceRef) and self.types.get(value.logical_id) == SECURITY_GROUP
        ):
            what = f"{lid} names its source group by name ({value}), which works only in a default VPC"
            return UnresolvedPeer(Unresolved(what, self._prov(lid, line), "use SourceSecurityGroupId"))
        group = self._group(lid, value, line)
        return SgPeer(group) if isinstance(group, str) else UnresolvedPeer(self._unknown(lid, group, line), "group")

    def _tags(self, lid: str, props: LineDict) -> tuple[tuple[str, str | Unresolved], ...]:
        raw, at = props.get("Tags"), props.key_lines.get("Tags", self._line(lid))
        raw = self.r.resolve(raw, lid) if is_intrinsic(raw) else raw
        entries: list[tuple[str, Any, int]] = []
        if isinstance(raw, dict):  # the map form (AWS::EKS::Nodegroup and others)
            entries = [(str(k), v, getattr(raw, "key_lines", {}).get(k, at)) for k, v in raw.items()]
        elif isinstance(raw, list):
            for entry, line in zip(raw, cfn_yaml.item_lines(raw, at), strict=True):
                entry = self.r.resolve(entry, lid) if is_intrinsic(entry) else entry
                if entry is NO_VALUE or isinstance(entry, Unresolved):
                    continue
                if not isinstance(entry, dict) or "Key" not in entry:
                    raise self._error(lid, "a tag must be a mapping with Key and Value", line)
                # An unresolved key keeps its expression, e.g. kubernetes.io/cluster/${ClusterName}.
                key = self.r.canonical(entry["Key"], lid)
                if isinstance(resolved := self.r.resolve(entry["Key"], lid), _TOKENS):
                    self.unknown_tag_keys[(lid, key)] = self._unknown(lid, resolved, line)
                entries.append((key, entry.get("Value"), line))
        elif raw is not None and raw is not NO_VALUE and not isinstance(raw, Unresolved):
            raise self._error(lid, "Tags must be a list of {Key, Value}", at)
        tags: list[tuple[str, str | Unresolved]] = []
        for key, node, line in entries:
            value = self.r.resolve(node, lid)
            if isinstance(value, _TOKENS):
                tags.append((key, self._unknown(lid, value, line)))
            elif isinstance(value, list | dict):
                raise self._error(lid, f"the value of tag {key} must be a string", line)
            elif isinstance(value, bool):
                tags.append((key, "true" if value else "false"))
            else:
                tags.append((key, "" if value is None or value is NO_VALUE else str(value)))
        return tuple(tags)

    def _vpc_of(self, lid: str, value: Any, line: int) -> str | Unresolved | None:
        if value is None or isinstance(value, str | Unresolved):
            return value if not isinstance(value, str) else str(value)
        if isinstance(value, ResourceRef) and self.types.get(value.logical_id) == VPC:
            return f"cfn:{self.path}:{value.logical_id}"
        if isinstance(value, ParamRef):
            return f"param:{self.path}:{value.name}"
        if isinstance(value, ImportRef) and value.name_resolved:
            return f"import:{value.name}"
        return self._unknown(lid, value, line)

    # --- clusters and node groups ---------------------------------------------------------

    def _cluster(self, lid: str) -> None:
        props, key, where = self._props(lid), f"cfn:{self.path}:{lid}", self._prov(lid)
        name = self._text(lid, props, "Name") or Unresolved(f"the name of {lid} is generated at deploy time", where)
        if "Name" in props:
            self.clusters_by_name.setdefault(self.r.canonical(props["Name"], lid), key)
        sg_key = f"cluster-sg:{key}"
        ref = GroupRef("cluster", lid)
        self.groups[sg_key] = SecurityGroup(sg_key, f"{lid} cluster security group", SgOrigin.CLUSTER, where, ref=ref)
        groups: list[SgKey | Unresolved] = []
        config, config_where = self._map(lid, props, "ResourcesVpcConfig"), None
        if isinstance(config, LineDict):
            config_where = self._prov(lid, props.key_lines.get("ResourcesVpcConfig"))
            at = config.key_lines.get("SecurityGroupIds", config_where.line)
            groups = self._groups(lid, self._get(lid, config, "SecurityGroupIds"), at)
        elif config is not None:
            groups.append(config)
        network = self._map(lid, props, "KubernetesNetworkConfig")
        family = self._text(lid, network, "IpFamily") if isinstance(network, LineDict) else network
        remote = self._map(lid, props, "RemoteNetworkConfig")
        cluster = Cluster(
            key, name, where, sg_key, tuple(groups), self._text(lid, props, "Version"),
            family.lower() if isinstance(family, str) else (family or "ipv4"),
            self._remote_cidrs(lid, remote, "RemoteNodeNetworks"), self._remote_cidrs(lid, remote, "RemotePodNetworks"),
            config_where,
        )  # fmt: skip
        self.clusters.append(cluster)

    def _remote_cidrs(self, lid: str, config: Any, key: str) -> tuple[net.IPNetwork | Unresolved, ...]:
        value = self._get(lid, config, key) if isinstance(config, LineDict) else config
        if value is None or isinstance(value, _TOKENS):
            return () if value is None else (self._unknown(lid, value, self._line(lid)),)
        out: list[net.IPNetwork | Unresolved] = []
        for network in value if isinstance(value, list) else [value]:
            cidrs = network.get("Cidrs") if isinstance(network, dict) else None
            at = getattr(network, "line", 0) or self._line(lid)
            for cidr in cidrs if isinstance(cidrs, list) else [cidrs]:
                if isinstance(cidr, _TOKENS):
                    out.append(self._unknown(lid, cidr, at))
                    continue
                try:
                    out.append(net.parse_cidr(cidr))
                except net.NetValueError as exc:
                    raise self._error(lid, f"{key}: {exc}", at) from None
        return tuple(out)

    def _cluster_link(self, lid: str, props: LineDict) -> ClusterLink:
        if "ClusterName" not in props:
            return ClusterLink(unresolved=Unresolved(f"{lid} has no ClusterName", self._prov(lid)))
        value = self.r.resolve(props["ClusterName"], lid)
        if isinstance(value, ResourceRef) and self.types.get(value.logical_id) == CLUSTER:
            return ClusterLink(cluster_key=f"cfn:{self.path}:{value.logical_id}")
        key = self.clusters_by_name.get(self.r.canonical(props["ClusterName"], lid))
        if isinstance(value, str) or key:
            return ClusterLink(cluster_key=key, cluster_name=str(value) if isinstance(value, str) else None)
        return ClusterLink(unresolved=self._unknown(lid, value, props.key_lines["ClusterName"]))

    def _target(self, lid: str, spec: LineDict, keys: tuple[str, ...], rtype: str) -> str | Unresolved:
        """The launch template (configuration) that `spec` names by Ref, GetAtt or an equal name."""
        key = next(k for k in keys if k in spec)
        value, canonical = self.r.resolve(spec[key], lid), self.r.canonical(spec[key], lid)
        name_key = "LaunchConfigurationName" if rtype == LAUNCH_CONFIGURATION else "LaunchTemplateName"
        for other in (i for i in self.present if self.types[i] == rtype):
            other_props = self._props(other)
            if (isinstance(value, ResourceRef | AttRef) and value.logical_id == other) or (
                key.endswith("Name")
                and name_key in other_props
                and self.r.canonical(other_props[name_key], other) == canonical
            ):
                return other
        if isinstance(value, Unresolved) and isinstance(spec[key], dict) and "Fn::If" in spec[key]:
            return value  # which template is used cannot be decided
        what = f"{rtype.rsplit('::', 1)[1]} {canonical} of {lid} is not defined in this template"
        return Unresolved(what, self._prov(lid, spec.key_lines[key]), "scan the template that defines it too")

    def _launch_groups(self, lid: str, spec: Any, keys: tuple[str, ...], rtype: str) -> tuple[Any, Any, Any]:
        """(groups, provenance, user data) of the launch template or configuration a spec names."""
        if spec is None or (isinstance(spec, LineDict) and not any(k in spec for k in keys)):
            return None, None, None
        target = spec if isinstance(spec, Unresolved) else self._target(lid, spec, keys, rtype)
        if isinstance(target, Unresolved):
            return (target,), None, None
        props = self._props(target)
        if rtype == LAUNCH_CONFIGURATION:
            at = props.key_lines.get("SecurityGroups", self._line(target))
            groups = self._get(target, props, "SecurityGroups")
            found = None if groups is None else tuple(self._groups(target, groups, at))
            return found, self._prov(target), props.get("UserData")
        data = self._map(target, props, "LaunchTemplateData")
        if not isinstance(data, LineDict):
            return (None if data is None else (data,)), self._prov(target), None
        places = [(data, key) for key in ("SecurityGroupIds", "SecurityGroups") if key in data]
        interfaces = self._get(target, data, "NetworkInterfaces")
        if isinstance(interfaces, list):
            places += [(i, "Groups") for i in interfaces if isinstance(i, LineDict) and "Groups" in i]
        out: list[SgKey | Unresolved] = [interfaces] if isinstance(interfaces, Unresolved) else []
        for node, key in places:
            out += self._groups(target, self._get(target, node, key), node.key_lines.get(key, self._line(target)))
        return (tuple(dict.fromkeys(out)) if places or out else None), self._prov(target), data.get("UserData")

    def _managed_node_group(self, lid: str) -> None:
        props, where = self._props(lid), self._prov(lid)
        spec = self._map(lid, props, "LaunchTemplate")
        groups, template, _ = self._launch_groups(lid, spec, ("Id", "Name"), LAUNCH_TEMPLATE)
        remote, access = None, self._map(lid, props, "RemoteAccess")
        if access is not None:
            at = self._prov(lid, props.key_lines.get("RemoteAccess"))
            ami = self._get(lid, props, "AmiType")
            windows = isinstance(ami, str) and ami.upper().startswith("WINDOWS")
            if isinstance(access, Unresolved):
                remote = RemoteAccess((access,), windows, at)
            else:
                line = access.key_lines.get("SourceSecurityGroups", at.line)
                sources = self._groups(lid, self._get(lid, access, "SourceSecurityGroups"), line)
                remote = RemoteAccess(tuple(sources), windows, at)
        link, tags, key = self._cluster_link(lid, props), self._tags(lid, props), f"cfn:{self.path}:{lid}"
        kind, condition = NodeGroupKind.MANAGED, self.conditions.get(lid)
        self.node_groups.append(NodeGroup(key, lid, kind, where, link, groups, template, remote, tags, condition))

    def _auto_scaling_group(self, lid: str) -> None:
        props, where = self._props(lid), self._prov(lid)
        spec = self._map(lid, props, "LaunchTemplate") or self._map(lid, props, "LaunchTemplateSpecification")
        policy = self._map(lid, props, "MixedInstancesPolicy")
        if spec is None and isinstance(policy, LineDict):
            inner = self._map(lid, policy, "LaunchTemplate")
            spec = self._map(lid, inner, "LaunchTemplateSpecification") if isinstance(inner, LineDict) else inner
        if spec is None:
            launch = self._launch_groups(lid, props, ("LaunchConfigurationName",), LAUNCH_CONFIGURATION)
        else:
            launch = self._launch_groups(lid, spec, ("LaunchTemplateId", "LaunchTemplateName"), LAUNCH_TEMPLATE)
        groups, template, user_data = launch
        tags = self._tags(lid, props)
        cluster_tag = next((k for k, _ in tags if k.startswith(_CLUSTER_TAG)), None)
        if not (cluster_tag or self.eks_template or _EKS_USER_DATA.search(cfn_yaml.strings(user_data))):
            self.attachments += [(group, where) for group in groups or () if isinstance(group, str)]
            return
        link = ClusterLink(unresolved=Unresolved(f"no kubernetes.io/cluster/<name> tag on {lid}", where))
        if cluster_tag:
            name, why = cluster_tag[len(_CLUSTER_TAG) :], self.unknown_tag_keys.get((lid, cluster_tag))
            key = self.clusters_by_name.get(name)  # a local cluster whose Name is the same expression
            if why is None:
                link = ClusterLink(key, name)
            elif key:  # the name is unknown, but a local cluster is named by the same expression
                link = ClusterLink(key)
            else:
                link = ClusterLink(unresolved=why)
        key, kind, condition = f"cfn:{self.path}:{lid}", NodeGroupKind.SELF_MANAGED, self.conditions.get(lid)
        self.node_groups.append(NodeGroup(key, lid, kind, where, link, groups, template, None, tags, condition))

    def _fargate_profile(self, lid: str) -> None:
        link = self._cluster_link(lid, self._props(lid))
        self.fargate.append(FargateProfile(f"cfn:{self.path}:{lid}", link, self._prov(lid)))

    # --- VPCs, other attachments, suppressions --------------------------------------------

    def _vpc_cidr_block(self, lid: str) -> None:
        props = self._props(lid)
        target = self._get(lid, props, "VpcId")
        if isinstance(target, ResourceRef) and self.types.get(target.logical_id) == VPC:
            for key in ("CidrBlock", "Ipv6CidrBlock"):
                if key in props:
                    self._add_cidr(target.logical_id, lid, self._get(lid, props, key))

    def _add_cidr(self, vpc: str, lid: str, value: Any) -> None:
        cidrs, _ = self.vpcs.setdefault(vpc, ([], True))
        if not isinstance(value, str):  # one unknown block leaves the VPC's address space unknown
            self.vpcs[vpc] = (cidrs, False)
            return
        try:
            cidrs.append(net.parse_cidr(value))
        except net.NetValueError as exc:
            raise self._error(lid, f"CidrBlock: {exc}", None) from None

    def _nested_stack(self, lid: str) -> None:
        """A nested stack is not evaluated; when it may create clusters, node groups or rules (its name,
        template or parameters say so), the scan says it is incomplete there rather than passing."""
        props = self._props(lid)
        said = " ".join([lid, cfn_yaml.strings(props.get("TemplateURL")), *map(str, props.get("Parameters") or {})])
        if not _EKS_RELATED.search(said) or _NOT_EKS.search(lid):
            return
        url = props.get("TemplateURL")
        shown = url if isinstance(url, str) else "a template URL computed at deploy time"
        self.unevaluated.append(
            Unresolved(
                f"nested stack {lid} ({shown}) is not evaluated; the clusters, node groups and security group "
                "rules it creates or changes are not verified",
                self._prov(lid),
                "scan its template together with this one",
            )
        )

    def _other(self, lid: str) -> None:
        if self.types[lid].startswith(_NOT_ATTACHMENTS):
            return
        props = self._props(lid)
        places = [(props, key) for key in _ATTACHMENT_KEYS if key in props]
        config = props.get("VpcConfig")
        if isinstance(config, LineDict) and "SecurityGroupIds" in config:
            places.append((config, "SecurityGroupIds"))
        for node, key in places:
            at = node.key_lines.get(key, self._line(lid))
            for group in self._groups(lid, self._get(lid, node, key), at, strict=False):
                if isinstance(group, str):
                    self.attachments.append((group, self._prov(lid)))

    def _suppressions(self, lid: str) -> list[Suppression]:
        metadata = self.resources[lid].get("Metadata")
        if not isinstance(metadata, LineDict) or "eks-sg-policy" not in metadata:
            return []
        block, at = metadata["eks-sg-policy"], metadata.key_lines["eks-sg-policy"]
        skips = block.get("skip") if isinstance(block, LineDict) else None
        if not isinstance(skips, list) or set(block) - {"skip"}:
            raise self._error(lid, "Metadata eks-sg-policy must be {skip: [{id, reason, expires}]}", at)
        out: list[Suppression] = []
        for item, line in zip(skips, cfn_yaml.item_lines(skips, at), strict=True):
            if not isinstance(item, LineDict):
                raise self._error(lid, "each skip must be a mapping with id and reason", line)
            extra = sorted(set(item) - {"id", "reason", "expires"})
            if extra:
                raise self._error(lid, f"unknown key '{extra[0]}' in skip (expected id, reason, expires)", line)
            policy, reason, expires = item.get("id"), item.get("reason"), item.get("expires")
            if not isinstance(policy, str) or not policy.strip():
                raise self._error(lid, "a skip needs the id of a policy (e.g. EKS301)", line)
            if not isinstance(reason, str) or not reason.strip():
                raise self._error(lid, f"the skip of {policy} needs a reason", item.key_lines.get("reason", line))
            until = None
            if expires is not None:
                try:
                    if not (isinstance(expires, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", expires)):
                        raise ValueError
                    until = date.fromisoformat(expires)
                except ValueError:
                    message = f"the skip of {policy}: expires must be a date YYYY-MM-DD, not {expires!r}"
                    raise self._error(lid, message, item.key_lines.get("expires", line)) from None
            out.append(Suppression(policy.strip(), reason.strip(), lid, self._prov(lid, line), until))
        return out
