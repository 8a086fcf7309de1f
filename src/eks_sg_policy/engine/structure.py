"""Attachment, sharing, cardinality and tagging (EKS201-EKS204)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ..findings import Finding
from ..model import NodeGroupKind, Provenance, SgKey, SgOrigin, Unresolved
from ..policies import Policy
from ..topology import ClusterView, NodeGroupView, has_cluster_security_group
from .context import Context


def evaluate_attachment(policy: Policy, ctx: Context) -> Iterator[Finding]:
    wanted_kind = NodeGroupKind(policy.check["node_kind"])
    for view in ctx.topology.clusters:
        if view.cluster is not None and not has_cluster_security_group(view.cluster):
            continue  # a cluster older than 1.14 has no cluster group
        for ng in view.node_groups:
            if ng.node_group.kind is not wanted_kind or ng.carries_cluster_sg is True:
                continue
            if ng.carries_cluster_sg is None:
                unknowns = _outside_groups(ctx, ng, "whether it is the cluster security group")
                finding = ctx.unverified(policy, f"node group {ng.endpoint.name}", unknowns, ng.endpoint.provenance,
                                         view=view, node_group=ng.endpoint.name)  # fmt: skip
                if finding is not None:
                    yield finding
                continue
            where = ng.node_group.launch_template or ng.node_group.provenance
            cluster = view.cluster.provenance.resource if view.cluster else f"cluster {view.name}"
            fix = (
                f"add the cluster security group of {cluster} "
                f"(ClusterSecurityGroupId / vpc_config[0].cluster_security_group_id) to its launch template"
            )
            message = f"{ng.endpoint.name} does not carry the cluster security group. To fix: {fix}."
            peer = view.cluster.cluster_sg if view.cluster else view.key
            yield ctx.violated(policy, message, where, view=view, node_group=ng.endpoint.name, peer=peer, fix=fix)


def evaluate_sharing(policy: Policy, ctx: Context) -> Iterator[Finding]:
    """A control plane's own group (from its VPC config) used by another cluster or by other resources."""
    clusters: dict[SgKey, list[tuple[str, Provenance]]] = defaultdict(list)
    others: dict[SgKey, list[str]] = defaultdict(list)
    for view in ctx.topology.clusters:
        if view.cluster is not None:
            for key in dict.fromkeys(k for k in view.cluster.security_groups if isinstance(k, str)):
                clusters[key].append((view.name, view.cluster.vpc_config or view.cluster.provenance))
        for ng in view.node_groups:
            for key in ng.endpoint.groups:
                others[key].append(f"node group {ng.endpoint.name}")
    for key, where in ctx.topology.other_attachments:
        others[key].append(f"{where.resource} ({where})")
    for key, owners in sorted(clusters.items()):
        group = ctx.topology.group(key)
        users = [f"cluster {name}" for name, _ in owners[1:]] + others.get(key, [])
        if not users or (group and group.origin is SgOrigin.CLUSTER):
            continue
        name = group.name if group else key
        fix = f"give cluster {owners[0][0]} a security group of its own"
        message = (
            f"{name} is in the VPC config of cluster {owners[0][0]} and also used by "
            f"{', '.join(dict.fromkeys(users))}. To fix: {fix}."
        )
        yield ctx.violated(policy, message, owners[0][1], peer=key, fix=fix)


def evaluate_cardinality(policy: Policy, ctx: Context) -> Iterator[Finding]:
    limit = int(policy.check["max"])
    for view in ctx.topology.clusters:
        cluster = view.cluster
        if cluster is None:
            continue
        count = len(cluster.security_groups)
        if count > limit:
            fix = f"keep at most {limit}; attach further rules to one of them instead"
            message = f"cluster {view.name} lists {count} security groups in its VPC config. To fix: {fix}."
            yield ctx.violated(policy, message, cluster.vpc_config or cluster.provenance, view=view, fix=fix)


def evaluate_tagging(policy: Policy, ctx: Context) -> Iterator[Finding]:
    for view in ctx.topology.clusters:
        for ng in view.node_groups:
            finding = _tagging_of(policy, ctx, view, ng)
            if finding is not None:
                yield finding


def _tagging_of(policy: Policy, ctx: Context, view: ClusterView, ng: NodeGroupView) -> Finding | None:
    prefix = policy.check["tag"].split("{cluster}")[0]
    exact = policy.check["tag"].replace("{cluster}", view.name) if view.cluster else None
    tagged: list[str] = []
    for key in ng.endpoint.groups:
        group = ctx.topology.group(key)
        if group is None:
            continue
        if group.origin is SgOrigin.CLUSTER:
            tagged.append(group.name)  # EKS tags the cluster group kubernetes.io/cluster/<name>=owned
        elif any(_is_owner_tag(k, v, prefix, exact, policy.check["value"]) for k, v in group.tags):
            tagged.append(group.name)
    where = ng.node_group.launch_template or ng.node_group.provenance
    if len(tagged) > 1:
        fix = f"keep the {prefix}<cluster>=owned tag on one of them only"
        message = (
            f"{ng.endpoint.name} carries {len(tagged)} security groups tagged {prefix}<cluster>=owned "
            f"({', '.join(tagged)}); LoadBalancer services will fail. To fix: {fix}."
        )
        return ctx.violated(policy, message, where, view=view, node_group=ng.endpoint.name, fix=fix)
    groups = ng.endpoint.groups
    complete = all((g := ctx.topology.group(k)) is not None and g.complete for k in groups)
    if not complete or ng.endpoint.unknown_groups:
        # A group from elsewhere may carry the tag (or be the cluster group): one more, or the only one.
        unknowns = _outside_groups(ctx, ng, "its tags")
        return ctx.unverified(policy, f"node group {ng.endpoint.name}", unknowns, where, view=view,
                              node_group=ng.endpoint.name)  # fmt: skip
    if tagged or len(groups) < 2:
        return None
    wanted = exact or f"{prefix}<cluster>"
    others = sorted(
        f"{g.name} is tagged {k}"
        for key in groups
        if (g := ctx.topology.group(key)) is not None
        for k, v in g.tags
        if k.startswith(prefix)
    )
    elsewhere = f" ({'; '.join(others)})" if others else ""
    fix = f"tag one node security group {wanted}={policy.check['value']}"
    message = (
        f"{ng.endpoint.name} carries {len(groups)} security groups and none is tagged "
        f"{wanted}={policy.check['value']}{elsewhere}. To fix: {fix}."
    )
    return ctx.violated(policy, message, where, view=view, node_group=ng.endpoint.name, fix=fix, severity="warning")


def _outside_groups(ctx: Context, ng: NodeGroupView, what: str) -> list[Unresolved]:
    """Why a node group's groups are not all known: groups created elsewhere, members not named."""
    outside = [
        Unresolved(f"{what} of {g.name} (created outside this scan)", g.provenance,
                   "scan the stack or module that creates it together with this one")
        for key in ng.endpoint.groups
        if (g := ctx.topology.group(key)) is not None and not g.complete
    ]  # fmt: skip
    return [*outside, *ng.endpoint.unknown_groups]


def _is_owner_tag(key: str, value: str | Unresolved, prefix: str, exact: str | None, wanted: str) -> bool:
    if not key.startswith(prefix) or value != wanted:
        return False
    if exact is None or "${" in key:
        return True
    return key == exact
