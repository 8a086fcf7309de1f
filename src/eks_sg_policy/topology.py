"""Roles: which security groups stand for each control plane and each node group.

This is where EKS's own behaviour is modelled, the same for every input format:
- every cluster (Kubernetes >= 1.14) has an implicit cluster security group with default rules;
- managed node groups carry it unless their launch template names groups of its own;
- managed node groups with remote access get an SSH/RDP group that EKS creates;
- node stacks without a cluster still have a control plane: a group named or mapped as one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from .model import (
    CidrPeer,
    Cluster,
    Direction,
    GroupRef,
    Guard,
    Model,
    NodeGroup,
    NodeGroupKind,
    Provenance,
    Rule,
    RuleForm,
    SecurityGroup,
    SgKey,
    SgOrigin,
    SgPeer,
    Unresolved,
)
from .net import ALL, ALL_PORTS, INTERNET_V4, INTERNET_V6, TCP, IPNetwork, PortRange

CONTROL_PLANE = "control-plane"
NODE_GROUP = "node-group"

# Names that say "this is the control plane's group", as parameters, imports and outputs are named
# in AWS's own templates, eksctl and the Quick Starts.
_CONTROL_PLANE_NAME = re.compile(
    r"(control.?plane|cluster).*(security.?group|sg)|::SecurityGroup$|::ClusterSecurityGroupId$", re.I
)
_NOT_CONTROL_PLANE = re.compile(r"node|worker|bastion|shared", re.I)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One side of a connection: the groups its network interfaces carry."""

    role: str  # CONTROL_PLANE or NODE_GROUP
    key: str
    name: str
    provenance: Provenance
    groups: tuple[SgKey, ...]
    unknown_groups: tuple[Unresolved, ...] = ()  # members the scan could not name
    condition: Guard | Unresolved | None = None  # exists only under an undecidable condition


@dataclass(frozen=True, slots=True)
class NodeGroupView:
    node_group: NodeGroup
    endpoint: Endpoint
    carries_cluster_sg: bool | None  # None: cannot be decided


@dataclass(frozen=True, slots=True)
class ClusterView:
    """A cluster and its node groups. `cluster` is None for a node stack whose cluster is elsewhere."""

    key: str
    name: str
    cluster: Cluster | None
    control_plane: Endpoint | None  # None: no control plane could be identified
    unidentified: Unresolved | None
    node_groups: tuple[NodeGroupView, ...]
    ip_family: str | Unresolved = "ipv4"


@dataclass(frozen=True, slots=True)
class TopologyOptions:
    # Role mappings given by the user: group name (logical id, import or parameter name) -> role.
    roles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Topology:
    groups: Mapping[SgKey, SecurityGroup]
    rules: tuple[Rule, ...]  # every rule, the synthesized EKS defaults included
    clusters: tuple[ClusterView, ...]
    vpc_cidrs: tuple[IPNetwork, ...]
    other_attachments: tuple[tuple[SgKey, Provenance], ...] = ()
    unevaluated: tuple[Unresolved, ...] = ()

    def group(self, key: SgKey) -> SecurityGroup | None:
        return self.groups.get(key)


def build_topology(model: Model, options: TopologyOptions | None = None) -> Topology:
    options = options or TopologyOptions()
    groups = _index_groups(model.security_groups)
    synthesized: list[Rule] = []
    for cluster in model.clusters:
        if has_cluster_security_group(cluster):
            synthesized.extend(_cluster_sg_default_rules(cluster))
        elif cluster.cluster_sg in groups:
            del groups[cluster.cluster_sg]
    remote_groups = [_remote_access_group(ng) for ng in model.node_groups if ng.remote_access]
    for group, access_rules in remote_groups:
        groups[group.key] = group
        synthesized.extend(access_rules)
    all_rules = model.rules + tuple(synthesized)
    views = _cluster_views(model, groups, all_rules, options)
    vpc_cidrs = tuple(cidr for vpc in model.vpcs for cidr in vpc.cidrs)
    return Topology(
        groups=groups,
        rules=all_rules,
        clusters=views,
        vpc_cidrs=vpc_cidrs,
        other_attachments=model.other_attachments,
        unevaluated=model.unevaluated,
    )


def _index_groups(declared: Iterable[SecurityGroup]) -> dict[SgKey, SecurityGroup]:
    groups: dict[SgKey, SecurityGroup] = {}
    for group in declared:
        known = groups.get(group.key)
        if known is None:
            groups[group.key] = group
        elif known.origin is SgOrigin.EXTERNAL and group.origin is not SgOrigin.EXTERNAL:
            groups[group.key] = _named_also(group, known)
        else:
            groups[group.key] = _named_also(known, group)
    return groups


def _named_also(kept: SecurityGroup, other: SecurityGroup) -> SecurityGroup:
    """`kept` with the name another file gives it (e.g. the parameter a nested stack receives it in) as
    an alias whose `module` is that file, so that a fix written there can name it."""
    ref = other.ref
    if ref is None or other.provenance.file == kept.provenance.file or ref.module:
        return kept
    alias = GroupRef(ref.kind, ref.name, other.provenance.file)
    return kept if alias in kept.aliases else replace(kept, aliases=(*kept.aliases, alias))


def has_cluster_security_group(cluster: Cluster) -> bool:
    """EKS creates the cluster group for Kubernetes 1.14 (platform eks.3) and later."""
    version = cluster.version
    if not isinstance(version, str):
        return True
    match = re.fullmatch(r"\s*(\d+)\.(\d+).*", version)
    if not match:
        return True
    return (int(match.group(1)), int(match.group(2))) >= (1, 14)


def _cluster_sg_default_rules(cluster: Cluster) -> list[Rule]:
    key, where = cluster.cluster_sg, cluster.provenance

    def everything(direction: Direction, peer: SgPeer | CidrPeer, description: str) -> Rule:
        return Rule(key, direction, ALL, ALL_PORTS, peer, where, RuleForm.IMPLICIT, f"EKS default: {description}")

    rules = [
        everything(Direction.INGRESS, SgPeer(key), "inbound all from self"),
        everything(Direction.EGRESS, CidrPeer(INTERNET_V4), "outbound all"),
        everything(Direction.EGRESS, SgPeer(key), "outbound all to self (EFA)"),
    ]
    if cluster.ip_family == "ipv6":
        rules.append(everything(Direction.EGRESS, CidrPeer(INTERNET_V6), "outbound all"))
    return rules


def remote_access_key(node_group: NodeGroup) -> SgKey:
    return f"remote-access:{node_group.key}"


def _remote_access_group(node_group: NodeGroup) -> tuple[SecurityGroup, list[Rule]]:
    access = node_group.remote_access
    assert access is not None
    key = remote_access_key(node_group)
    port = PortRange.single(3389 if access.windows else 22)
    service = "RDP" if access.windows else "SSH"
    group = SecurityGroup(
        key=key,
        name=f"{node_group.name} remote access ({service}, created by EKS)",
        origin=SgOrigin.REMOTE_ACCESS,
        provenance=access.provenance,
    )
    peers: list[SgPeer | CidrPeer] = [SgPeer(s) for s in access.source_groups if isinstance(s, str)]
    if not access.source_groups:
        peers = [CidrPeer(INTERNET_V4)]
    rules = [
        Rule(
            key,
            Direction.INGRESS,
            TCP,
            port,
            peer,
            access.provenance,
            RuleForm.IMPLICIT,
            f"EKS remote access: {service} from {'source groups' if access.source_groups else 'anywhere'}",
        )
        for peer in peers
    ]
    rules.append(
        Rule(
            key,
            Direction.EGRESS,
            ALL,
            ALL_PORTS,
            CidrPeer(INTERNET_V4),
            access.provenance,
            RuleForm.IMPLICIT,
            "EC2 default egress of the remote-access group",
        )
    )
    return group, rules


def _cluster_views(
    model: Model, groups: Mapping[SgKey, SecurityGroup], rules: tuple[Rule, ...], options: TopologyOptions
) -> tuple[ClusterView, ...]:
    clusters_by_key = {c.key: c for c in model.clusters}
    members: dict[str, list[NodeGroup]] = {c.key: [] for c in model.clusters}
    orphans: list[NodeGroup] = []
    for node_group in model.node_groups:
        cluster = _cluster_of(node_group, model.clusters, rules)
        if cluster is None:
            orphans.append(node_group)
        else:
            members[cluster.key].append(node_group)
    views = [_view_of_cluster(clusters_by_key[key], tuple(ngs), groups) for key, ngs in members.items()]
    views.extend(_node_only_views(orphans, groups, rules, options, model.security_groups))
    return tuple(sorted(views, key=lambda v: (v.key,)))


def _cluster_of(node_group: NodeGroup, clusters: tuple[Cluster, ...], rules: tuple[Rule, ...]) -> Cluster | None:
    link = node_group.cluster
    if link.cluster_key is not None:
        for cluster in clusters:
            if cluster.key == link.cluster_key:
                return cluster
    if link.cluster_name is not None:
        named = [c for c in clusters if c.name == link.cluster_name]
        if len(named) == 1:
            return named[0]
    own = set(k for k in node_group.launch_template_groups or () if isinstance(k, str))
    referenced = [
        c
        for c in clusters
        if any(r.group in own and isinstance(r.peer, SgPeer) and r.peer.key in _control_plane_groups(c) for r in rules)
    ]
    if len(referenced) == 1:
        return referenced[0]
    if len(clusters) == 1 and link.cluster_name is None:
        return clusters[0]
    return None


def _control_plane_groups(cluster: Cluster) -> tuple[SgKey, ...]:
    extra = tuple(k for k in cluster.security_groups if isinstance(k, str))
    if has_cluster_security_group(cluster):
        return (cluster.cluster_sg, *extra)
    return extra


def _view_of_cluster(
    cluster: Cluster, node_groups: tuple[NodeGroup, ...], groups: Mapping[SgKey, SecurityGroup]
) -> ClusterView:
    unknown = tuple(k for k in cluster.security_groups if isinstance(k, Unresolved))
    control_plane = Endpoint(
        role=CONTROL_PLANE,
        key=cluster.key,
        name=f"control plane of {cluster.provenance.resource}",
        provenance=cluster.provenance,
        groups=_control_plane_groups(cluster),
        unknown_groups=unknown,
    )
    cluster_sg = cluster.cluster_sg if has_cluster_security_group(cluster) else None
    views = tuple(_node_group_view(ng, cluster_sg, None) for ng in node_groups)
    name = cluster.name if isinstance(cluster.name, str) else cluster.provenance.resource
    return ClusterView(cluster.key, name, cluster, control_plane, None, views, cluster.ip_family)


def _node_group_view(
    node_group: NodeGroup, cluster_sg: SgKey | None, unknown_cluster: Unresolved | None
) -> NodeGroupView:
    named = node_group.launch_template_groups
    keys = [k for k in named or () if isinstance(k, str)]
    unknown = [k for k in named or () if isinstance(k, Unresolved)]
    carries: bool | None
    if node_group.kind is NodeGroupKind.MANAGED:
        if named is None:
            carries = True
            if cluster_sg is not None:
                keys.insert(0, cluster_sg)
            elif unknown_cluster is not None:
                unknown.append(unknown_cluster)
        elif keys:
            carries = cluster_sg in keys if cluster_sg else None
        else:
            carries = None  # the launch template could not be read
        if node_group.remote_access:
            keys.append(remote_access_key(node_group))
    else:
        carries = (cluster_sg in keys) if cluster_sg else None
        if named is None:
            unknown.append(
                Unresolved(
                    "the launch template/configuration names no security group, so instances get the VPC's "
                    "default security group",
                    node_group.launch_template or node_group.provenance,
                    "name the node security group in SecurityGroupIds / vpc_security_group_ids",
                )
            )
    endpoint = Endpoint(
        role=NODE_GROUP,
        key=node_group.key,
        name=node_group.name,
        provenance=node_group.provenance,
        groups=tuple(dict.fromkeys(keys)),
        unknown_groups=tuple(unknown),
        condition=node_group.condition,
    )
    return NodeGroupView(node_group, endpoint, carries)


def _node_only_views(
    orphans: list[NodeGroup],
    groups: Mapping[SgKey, SecurityGroup],
    rules: tuple[Rule, ...],
    options: TopologyOptions,
    entries: tuple[SecurityGroup, ...],
) -> list[ClusterView]:
    by_file: dict[str, list[NodeGroup]] = {}
    for node_group in orphans:
        by_file.setdefault(node_group.provenance.file, []).append(node_group)
    views = []
    for file, node_groups in sorted(by_file.items()):
        candidates = _control_plane_candidates(file, groups, options, entries)
        first = node_groups[0]
        name = first.cluster.cluster_name or f"cluster of {file}"
        unknown_cluster = Unresolved(
            f"the cluster security group of {name} (the cluster is not in this scan)",
            first.provenance,
            "scan the cluster template together with this node stack",
        )
        unidentified = None
        control_plane = None
        if candidates:
            control_plane = Endpoint(
                role=CONTROL_PLANE,
                key=f"node-stack:{file}",
                name=f"control plane of {name}",
                provenance=groups[candidates[0]].provenance,
                groups=tuple(candidates),
            )
        else:
            unidentified = Unresolved(
                f"no control plane security group identified for the node groups of {file}",
                first.provenance,
                "scan the cluster template too, or map one: --role control-plane=NAME",
            )
        ng_views = tuple(_own_groups_only(_node_group_view(ng, None, unknown_cluster), groups) for ng in node_groups)
        views.append(ClusterView(f"node-stack:{file}", name, None, control_plane, unidentified, ng_views))
    return views


def _own_groups_only(view: NodeGroupView, groups: Mapping[SgKey, SecurityGroup]) -> NodeGroupView:
    """In a node stack, a node group whose groups are all declared by the scanned code does not carry
    the cluster group, which EKS creates: that much is decided without the cluster."""
    if view.carries_cluster_sg is not None or view.endpoint.unknown_groups or not view.endpoint.groups:
        return view
    own = [groups.get(k) for k in view.endpoint.groups]
    if all(g is not None and g.origin is SgOrigin.DECLARED for g in own):
        return NodeGroupView(view.node_group, view.endpoint, False)
    return view


def _control_plane_candidates(
    file: str, groups: Mapping[SgKey, SecurityGroup], options: TopologyOptions, entries: tuple[SecurityGroup, ...]
) -> list[SgKey]:
    """The groups a node stack names as its control plane's: mapped by --role, or received from outside
    under a name that says so. `entries` are every file's entries, so that a group another file
    declares (the parent of a nested stack) counts under the name this file gives it."""
    mapped = [name for name, role in options.roles.items() if role == CONTROL_PLANE]
    if mapped:
        chosen = [g.key for g in groups.values() if g.name in mapped or g.key in mapped]
        if chosen:
            return sorted(chosen)
    named = {
        g.key
        for g in entries
        if g.origin is SgOrigin.EXTERNAL
        and g.key in groups
        and g.provenance.file == file
        and _CONTROL_PLANE_NAME.search(g.name)
        and not _NOT_CONTROL_PLANE.search(g.name)
    }
    return sorted(named)
