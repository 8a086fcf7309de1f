"""Clusters, managed and self-managed node groups, Fargate profiles, and the launch templates
(launch configurations) through which node groups get their security groups."""

from __future__ import annotations

import re
from typing import Any

from .. import net
from ..model import (
    Cluster,
    ClusterLink,
    FargateProfile,
    GroupRef,
    NodeGroup,
    NodeGroupKind,
    RemoteAccess,
    SecurityGroup,
    SgKey,
    SgOrigin,
    Unresolved,
)
from . import cfn_yaml
from .cfn_context import CLUSTER, LAUNCH_CONFIGURATION, LAUNCH_TEMPLATE, TOKENS, TemplateContext
from .cfn_groups import group_keys
from .cfn_tokens import AttRef, ResourceRef, StackValue
from .cfn_yaml import LineDict

__all__ = ["auto_scaling_group", "cluster", "fargate_profile", "managed_node_group"]

_CLUSTER_TAG = "kubernetes.io/cluster/"
_EKS_USER_DATA = re.compile(r"bootstrap\.sh|nodeadm|/etc/eks/|\beks\b", re.I)


def cluster(ctx: TemplateContext, lid: str) -> None:
    props, key, where = ctx.props(lid), f"cfn:{ctx.ns}:{lid}", ctx.prov(lid)
    name = ctx.text(lid, props, "Name") or Unresolved(f"the name of {lid} is generated at deploy time", where)
    if "Name" in props:
        ctx.clusters_by_name.setdefault(ctx.r.canonical(props["Name"], lid), key)
    sg_key = f"cluster-sg:{key}"
    ref = GroupRef("cluster", lid)
    ctx.groups[sg_key] = SecurityGroup(sg_key, f"{lid} cluster security group", SgOrigin.CLUSTER, where, ref=ref)
    groups: list[SgKey | Unresolved] = []
    config, config_where = ctx.mapping(lid, props, "ResourcesVpcConfig"), None
    if isinstance(config, LineDict):
        config_where = ctx.prov(lid, props.key_lines.get("ResourcesVpcConfig"))
        at = config.key_lines.get("SecurityGroupIds", config_where.line)
        groups = group_keys(ctx, lid, ctx.value(lid, config, "SecurityGroupIds"), at)
    elif config is not None:
        groups.append(config)
    network = ctx.mapping(lid, props, "KubernetesNetworkConfig")
    family = ctx.text(lid, network, "IpFamily") if isinstance(network, LineDict) else network
    remote = ctx.mapping(lid, props, "RemoteNetworkConfig")
    cluster = Cluster(
        key, name, where, sg_key, tuple(groups), ctx.text(lid, props, "Version"),
        family.lower() if isinstance(family, str) else (family or "ipv4"),
        _remote_cidrs(ctx, lid, remote, "RemoteNodeNetworks"), _remote_cidrs(ctx, lid, remote, "RemotePodNetworks"),
        config_where,
    )  # fmt: skip
    ctx.clusters.append(cluster)


def _remote_cidrs(ctx: TemplateContext, lid: str, config: Any, key: str) -> tuple[net.IPNetwork | Unresolved, ...]:
    value = ctx.value(lid, config, key) if isinstance(config, LineDict) else config
    if value is None or isinstance(value, TOKENS):
        return () if value is None else (ctx.unknown(lid, value, ctx.line(lid)),)
    out: list[net.IPNetwork | Unresolved] = []
    for network in value if isinstance(value, list) else [value]:
        cidrs = network.get("Cidrs") if isinstance(network, dict) else None
        at = getattr(network, "line", 0) or ctx.line(lid)
        for cidr in cidrs if isinstance(cidrs, list) else [cidrs]:
            if isinstance(cidr, TOKENS):
                out.append(ctx.unknown(lid, cidr, at))
                continue
            try:
                out.append(net.parse_cidr(cidr))
            except net.NetValueError as exc:
                raise ctx.error(lid, f"{key}: {exc}", at) from None
    return tuple(out)


def _cluster_link(ctx: TemplateContext, lid: str, props: LineDict) -> ClusterLink:
    if "ClusterName" not in props:
        return ClusterLink(unresolved=Unresolved(f"{lid} has no ClusterName", ctx.prov(lid)))
    value = ctx.r.resolve(props["ClusterName"], lid)
    if isinstance(value, ResourceRef) and ctx.types.get(value.logical_id) == CLUSTER:
        return ClusterLink(cluster_key=f"cfn:{ctx.ns}:{value.logical_id}")
    if isinstance(value, StackValue) and value.cluster is not None:  # a cluster of another stack of the system
        return ClusterLink(cluster_key=value.cluster)
    key = ctx.clusters_by_name.get(ctx.r.canonical(props["ClusterName"], lid))
    if isinstance(value, str) or key:
        return ClusterLink(cluster_key=key, cluster_name=str(value) if isinstance(value, str) else None)
    return ClusterLink(unresolved=ctx.unknown(lid, value, props.key_lines["ClusterName"]))


def _target(ctx: TemplateContext, lid: str, spec: LineDict, keys: tuple[str, ...], rtype: str) -> str | Unresolved:
    """The launch template (configuration) that `spec` names by Ref, GetAtt or an equal name."""
    key = next(k for k in keys if k in spec)
    value, canonical = ctx.r.resolve(spec[key], lid), ctx.r.canonical(spec[key], lid)
    name_key = "LaunchConfigurationName" if rtype == LAUNCH_CONFIGURATION else "LaunchTemplateName"
    for other in (i for i in ctx.present if ctx.types[i] == rtype):
        other_props = ctx.props(other)
        if (isinstance(value, ResourceRef | AttRef) and value.logical_id == other) or (
            key.endswith("Name")
            and name_key in other_props
            and ctx.r.canonical(other_props[name_key], other) == canonical
        ):
            return other
    if isinstance(value, Unresolved) and isinstance(spec[key], dict) and "Fn::If" in spec[key]:
        return value  # which template is used cannot be decided
    what = f"{rtype.rsplit('::', 1)[1]} {canonical} of {lid} is not defined in this template"
    return Unresolved(what, ctx.prov(lid, spec.key_lines[key]), "scan the template that defines it too")


def _launch_groups(
    ctx: TemplateContext, lid: str, spec: Any, keys: tuple[str, ...], rtype: str
) -> tuple[Any, Any, Any]:
    """(groups, provenance, user data) of the launch template or configuration a spec names."""
    if spec is None or (isinstance(spec, LineDict) and not any(k in spec for k in keys)):
        return None, None, None
    target = spec if isinstance(spec, Unresolved) else _target(ctx, lid, spec, keys, rtype)
    if isinstance(target, Unresolved):
        return (target,), None, None
    props = ctx.props(target)
    if rtype == LAUNCH_CONFIGURATION:
        at = props.key_lines.get("SecurityGroups", ctx.line(target))
        groups = ctx.value(target, props, "SecurityGroups")
        found = None if groups is None else tuple(group_keys(ctx, target, groups, at))
        return found, ctx.prov(target), props.get("UserData")
    data = ctx.mapping(target, props, "LaunchTemplateData")
    if not isinstance(data, LineDict):
        return (None if data is None else (data,)), ctx.prov(target), None
    places = [(data, key) for key in ("SecurityGroupIds", "SecurityGroups") if key in data]
    interfaces = ctx.value(target, data, "NetworkInterfaces")
    if isinstance(interfaces, list):
        places += [(i, "Groups") for i in interfaces if isinstance(i, LineDict) and "Groups" in i]
    out: list[SgKey | Unresolved] = [interfaces] if isinstance(interfaces, Unresolved) else []
    for node, key in places:
        out += group_keys(ctx, target, ctx.value(target, node, key), node.key_lines.get(key, ctx.line(target)))
    return (tuple(dict.fromkeys(out)) if places or out else None), ctx.prov(target), data.get("UserData")


def managed_node_group(ctx: TemplateContext, lid: str) -> None:
    props, where = ctx.props(lid), ctx.prov(lid)
    spec = ctx.mapping(lid, props, "LaunchTemplate")
    groups, template, _ = _launch_groups(ctx, lid, spec, ("Id", "Name"), LAUNCH_TEMPLATE)
    remote, access = None, ctx.mapping(lid, props, "RemoteAccess")
    if access is not None:
        at = ctx.prov(lid, props.key_lines.get("RemoteAccess"))
        ami = ctx.value(lid, props, "AmiType")
        windows = isinstance(ami, str) and ami.upper().startswith("WINDOWS")
        if isinstance(access, Unresolved):
            remote = RemoteAccess((access,), windows, at)
        else:
            line = access.key_lines.get("SourceSecurityGroups", at.line)
            sources = group_keys(ctx, lid, ctx.value(lid, access, "SourceSecurityGroups"), line)
            remote = RemoteAccess(tuple(sources), windows, at)
    link, tags, key = _cluster_link(ctx, lid, props), ctx.tags(lid, props), f"cfn:{ctx.ns}:{lid}"
    kind, condition = NodeGroupKind.MANAGED, ctx.guards.get(lid)
    ctx.node_groups.append(NodeGroup(key, lid, kind, where, link, groups, template, remote, tags, condition))


def auto_scaling_group(ctx: TemplateContext, lid: str) -> None:
    props, where = ctx.props(lid), ctx.prov(lid)
    spec = ctx.mapping(lid, props, "LaunchTemplate") or ctx.mapping(lid, props, "LaunchTemplateSpecification")
    policy = ctx.mapping(lid, props, "MixedInstancesPolicy")
    if spec is None and isinstance(policy, LineDict):
        inner = ctx.mapping(lid, policy, "LaunchTemplate")
        spec = ctx.mapping(lid, inner, "LaunchTemplateSpecification") if isinstance(inner, LineDict) else inner
    if spec is None:
        launch = _launch_groups(ctx, lid, props, ("LaunchConfigurationName",), LAUNCH_CONFIGURATION)
    else:
        launch = _launch_groups(ctx, lid, spec, ("LaunchTemplateId", "LaunchTemplateName"), LAUNCH_TEMPLATE)
    groups, template, user_data = launch
    tags = ctx.tags(lid, props)
    cluster_tag = next((k for k, _ in tags if k.startswith(_CLUSTER_TAG)), None)
    if not (cluster_tag or ctx.eks_template or _EKS_USER_DATA.search(cfn_yaml.strings(user_data))):
        ctx.attachments += [(group, where) for group in groups or () if isinstance(group, str)]
        return
    link = ClusterLink(unresolved=Unresolved(f"no kubernetes.io/cluster/<name> tag on {lid}", where))
    if cluster_tag:
        name, why = cluster_tag[len(_CLUSTER_TAG) :], ctx.unknown_tag_keys.get((lid, cluster_tag))
        key = ctx.clusters_by_name.get(name)  # a local cluster whose Name is the same expression
        if why is None:
            link = ClusterLink(key, name)
        elif key:  # the name is unknown, but a local cluster is named by the same expression
            link = ClusterLink(key)
        else:
            link = ClusterLink(unresolved=why)
    key, kind, condition = f"cfn:{ctx.ns}:{lid}", NodeGroupKind.SELF_MANAGED, ctx.guards.get(lid)
    ctx.node_groups.append(NodeGroup(key, lid, kind, where, link, groups, template, None, tags, condition))


def fargate_profile(ctx: TemplateContext, lid: str) -> None:
    link = _cluster_link(ctx, lid, ctx.props(lid))
    ctx.fargate.append(FargateProfile(f"cfn:{ctx.ns}:{lid}", link, ctx.prov(lid)))
