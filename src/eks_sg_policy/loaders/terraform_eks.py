"""EKS resources: clusters (and the cluster security group EKS creates), launch templates and
configurations, managed and self-managed node groups, Fargate profiles, VPCs, and other places
a security group is attached."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import (
    Cluster,
    ClusterLink,
    FargateProfile,
    NodeGroup,
    NodeGroupKind,
    Provenance,
    RemoteAccess,
    SecurityGroup,
    SgKey,
    SgOrigin,
    Unresolved,
    Vpc,
)
from ..net import IPNetwork
from .hcl_values import Ref, Tagged, Unknown, force
from .terraform_extract import View, group_ref
from .terraform_resources import cluster_sg_key
from .terraform_schema import ATTACHMENTS, CLUSTER_TAG

# Resources that attach security groups to something that is neither a cluster nor a node group.


@dataclass(frozen=True, slots=True)
class TemplateGroups:
    """What a launch template or launch configuration attaches."""

    groups: tuple[SgKey | Unresolved, ...] | None
    provenance: Provenance


def cluster(view: View, names: dict[str, str]) -> tuple[Cluster, SecurityGroup]:
    instance = view.instance
    name = view.text("name")
    if name == "":
        name = Unresolved("name is empty: the module needs a value for it", view.provenance(view.line("name")))
    vpc_config = view.first_block("vpc_config")
    groups = tuple(vpc_config.groups("security_group_ids")) if vpc_config else ()
    network = view.first_block("kubernetes_network_config")
    ip_family = network.text("ip_family") if network else None
    nodes, pods = _remote_networks(view)
    key = instance.key
    if isinstance(name, str):
        names.setdefault(name, key)
    result = Cluster(
        key=key,
        name=name if name is not None else Unresolved("name: not set", view.provenance()),
        provenance=view.provenance(),
        cluster_sg=cluster_sg_key(key),
        security_groups=groups,
        version=view.text("version"),
        ip_family=ip_family or "ipv4",
        remote_node_networks=nodes,
        remote_pod_networks=pods,
        vpc_config=vpc_config.provenance() if vpc_config else None,
    )
    # EKS tags this group kubernetes.io/cluster/<name>=owned; the CLUSTER origin says so.
    cluster_group = SecurityGroup(
        key=cluster_sg_key(key),
        name=f"{instance.address} cluster security group",
        origin=SgOrigin.CLUSTER,
        provenance=view.provenance(),
        ref=group_ref("cluster", instance.address),
    )
    return result, cluster_group


def _remote_networks(view: View) -> tuple[tuple[IPNetwork | Unresolved, ...], tuple[IPNetwork | Unresolved, ...]]:
    remote = view.first_block("remote_network_config")
    if remote is None:
        return (), ()
    found: list[tuple[IPNetwork | Unresolved, ...]] = []
    for name in ("remote_node_networks", "remote_pod_networks"):
        cidrs: list[IPNetwork | Unresolved] = []
        blocks, unknown = remote.blocks(name)
        for block in blocks:
            cidrs.extend(block.cidrs("cidrs"))
        if unknown is not None:
            cidrs.append(remote.unresolved(unknown, name))
        found.append(tuple(cidrs))
    return found[0], found[1]


def launch_template(view: View) -> TemplateGroups:
    groups = view.groups("vpc_security_group_ids") + view.groups("security_group_names")
    interfaces, unknown = view.blocks("network_interfaces")
    for interface in interfaces:
        groups.extend(interface.groups("security_groups"))
    if unknown is not None:
        groups.append(view.unresolved(unknown, "network_interfaces"))
    return TemplateGroups(tuple(groups) or None, view.provenance())


def launch_configuration(view: View) -> TemplateGroups:
    groups = view.groups("security_groups")
    return TemplateGroups(tuple(groups) or None, view.provenance())


def cluster_link(view: View, name: str, names: dict[str, str]) -> ClusterLink:
    value = view.value(name)
    if isinstance(value, Tagged) and value.ref.kind == "cluster":
        return ClusterLink(cluster_key=value.ref.key, cluster_name=str.__str__(value))
    if isinstance(value, Ref) and value.kind == "cluster":
        return ClusterLink(cluster_key=value.key)
    if value == "":
        return ClusterLink(unresolved=Unresolved(f"{name} is empty", view.provenance(view.line(name))))
    if isinstance(value, str):
        text = str.__str__(value)
        return ClusterLink(cluster_key=names.get(text), cluster_name=text)
    if isinstance(value, (Unknown, Ref)):
        return ClusterLink(unresolved=view.unresolved(value, name))
    return ClusterLink()


def _template_reference(
    view: View, value: object, field: str, templates: dict[str, TemplateGroups]
) -> tuple[tuple[SgKey | Unresolved, ...] | None, Provenance | None] | None:
    """Groups and provenance of the template a reference names; None when it names none."""
    value = force(value)
    if value is None or value == "":
        return None
    ref = value.ref if isinstance(value, Tagged) else value if isinstance(value, Ref) else None
    if ref is not None and ref.key in templates:
        found = templates[ref.key]
        return found.groups, found.provenance
    if isinstance(value, (Unknown, Ref)):
        why = view.unresolved(value, field)
    else:
        why = Unresolved(
            f"{field}: launch template {value} is not declared in the scan", view.provenance(view.line(field))
        )
    return (why,), view.provenance()


def _managed_template(
    view: View, templates: dict[str, TemplateGroups]
) -> tuple[tuple[SgKey | Unresolved, ...] | None, Provenance | None]:
    block = view.first_block("launch_template")
    if block is None:
        return None, None
    for field in ("id", "name"):
        found = _template_reference(block, block.value(field), field, templates)
        if found is not None:
            return found
    return None, None


def managed_node_group(view: View, templates: dict[str, TemplateGroups], names: dict[str, str]) -> NodeGroup:
    groups, template = _managed_template(view, templates)
    remote = view.first_block("remote_access")
    access = None
    if remote is not None:
        ami_type = view.value("ami_type")
        windows = isinstance(ami_type, str) and ami_type.upper().startswith("WINDOWS")
        access = RemoteAccess(tuple(remote.groups("source_security_group_ids")), windows, remote.provenance())
    return NodeGroup(
        key=view.instance.key,
        name=view.instance.address,
        kind=NodeGroupKind.MANAGED,
        provenance=view.provenance(),
        cluster=cluster_link(view, "cluster_name", names),
        launch_template_groups=groups,
        launch_template=template,
        remote_access=access,
        tags=view.tags(),
        condition=view.instance.condition,
    )


def _asg_template(
    view: View, templates: dict[str, TemplateGroups]
) -> tuple[tuple[SgKey | Unresolved, ...] | None, Provenance | None]:
    candidates: list[tuple[View, str]] = []
    block = view.first_block("launch_template")
    if block is not None:
        candidates += [(block, "id"), (block, "name")]
    policy = view.first_block("mixed_instances_policy")
    inner = policy.first_block("launch_template") if policy else None
    spec = inner.first_block("launch_template_specification") if inner else None
    if spec is not None:
        candidates += [(spec, "launch_template_id"), (spec, "launch_template_name")]
    candidates.append((view, "launch_configuration"))
    for source, field in candidates:
        found = _template_reference(source, source.value(field), field, templates)
        if found is not None:
            return found
    return None, None


def _asg_cluster(view: View, names: dict[str, str]) -> ClusterLink:
    pairs: list[tuple[object, object, int]] = []
    blocks, _unknown = view.blocks("tag")
    for block in blocks:
        pairs.append((block.value("key"), block.value("value"), block.block.line))
    listed = view.value("tags")
    if isinstance(listed, list):
        for item in map(force, listed):
            if isinstance(item, dict):
                pairs.append((force(item.get("key")), force(item.get("value")), view.line("tags")))
    for key, _value, line in pairs:
        if isinstance(key, str) and key.startswith(CLUSTER_TAG):
            name = key[len(CLUSTER_TAG) :]
            return ClusterLink(cluster_key=names.get(name), cluster_name=name)
        if isinstance(key, (Unknown, Ref)):
            return ClusterLink(unresolved=view.unresolved(key, "tag", line))
    return ClusterLink()


def self_managed_node_group(view: View, templates: dict[str, TemplateGroups], names: dict[str, str]) -> NodeGroup:
    groups, template = _asg_template(view, templates)
    return NodeGroup(
        key=view.instance.key,
        name=view.instance.address,
        kind=NodeGroupKind.SELF_MANAGED,
        provenance=view.provenance(),
        cluster=_asg_cluster(view, names),
        launch_template_groups=groups,
        launch_template=template,
        condition=view.instance.condition,
    )


def fargate_profile(view: View, names: dict[str, str]) -> FargateProfile:
    return FargateProfile(view.instance.key, cluster_link(view, "cluster_name", names), view.provenance())


def vpc(view: View) -> Vpc:
    cidrs = [c for c in view.cidrs("cidr_block") if not isinstance(c, Unresolved)]
    return Vpc(view.instance.key, tuple(cidrs), view.provenance())


def attachments(view: View) -> list[tuple[SgKey, Provenance]]:
    found: list[tuple[SgKey, Provenance]] = []
    fields = ATTACHMENTS.get(view.instance.type, ())
    for field in fields:
        for key in view.groups(field):
            if isinstance(key, str):
                found.append((key, view.provenance(view.line(field))))
    if view.instance.type == "aws_lambda_function":
        config = view.first_block("vpc_config")
        for key in config.groups("security_group_ids") if config else []:
            if isinstance(key, str):
                found.append((key, config.provenance() if config else view.provenance()))
    return found
