"""Exposure: what is open too wide (EKS301, EKS302, EKS303)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ..findings import Finding
from ..model import CidrPeer, Direction, Rule, RuleForm, SecurityGroup, SgOrigin, SgPeer
from ..net import PortRange, PortSet, covers_whole_internet, parse_ports
from ..policies import Policy
from ..topology import CONTROL_PLANE, ClusterView
from .context import Context


def evaluate_exposure(policy: Policy, ctx: Context) -> Iterator[Finding]:
    """Ingress from the whole internet onto a group of a node group or of a control plane.

    A group that is on a control plane is reported once, under the control-plane policy.
    """
    target = policy.check["target"]
    control_plane_groups = {k for v in ctx.topology.clusters if v.control_plane for k in v.control_plane.groups}
    seen: set[str] = set()
    for view in ctx.topology.clusters:
        endpoints = (
            [view.control_plane]
            if target == CONTROL_PLANE and view.control_plane
            else []
            if target == CONTROL_PLANE
            else [ng.endpoint for ng in view.node_groups]
        )
        for endpoint in endpoints:
            for key in endpoint.groups:
                if key in seen or (target != CONTROL_PLANE and key in control_plane_groups):
                    continue
                seen.add(key)
                group = ctx.topology.group(key)
                if group is not None:
                    yield from _open_rules(policy, ctx, view, group, endpoint.name)


def _open_rules(
    policy: Policy, ctx: Context, view: ClusterView, group: SecurityGroup, attached_to: str
) -> Iterator[Finding]:
    by_service: dict[tuple[str, object], list[Rule]] = defaultdict(list)
    for rule in ctx.index.rules_of(group.key, Direction.INGRESS):
        if isinstance(rule.peer, CidrPeer) and rule.condition is None:
            by_service[(str(rule.protocol), rule.ports)].append(rule)
    for (protocol, ports), rules in sorted(by_service.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        versions = covers_whole_internet(r.peer.network for r in rules if isinstance(r.peer, CidrPeer))
        if not versions:
            continue
        sources = ", ".join(sorted({str(r.peer) for r in rules}))
        service = "all traffic" if protocol == "all" else f"{protocol.upper()} {ports}"
        rule = min(rules, key=lambda r: r.provenance)
        if group.origin is SgOrigin.REMOTE_ACCESS:
            what = (
                f"{group.name} admits {service} from {sources} (the whole internet) because remote access "
                f"names no source security groups"
            )
            fix = "name SourceSecurityGroups / source_security_group_ids in the remote access settings"
        else:
            what = f"{group.name} (on {attached_to}) admits {service} from {sources}, the whole internet"
            fix = f"restrict the source of this rule to the CIDRs or security groups that need {service}"
        remote = group.origin is SgOrigin.REMOTE_ACCESS
        doc = next((r for r in policy.rows if ("remote access" in r.row.lower()) == remote), policy.doc)
        yield ctx.violated(
            policy,
            f"{what}. To fix: {fix}.",
            rule.provenance,
            view=view,
            node_group=None if policy.check["target"] == CONTROL_PLANE else attached_to,
            peer=f"{group.key}|{protocol}|{ports}",
            fix=fix,
            doc=doc,
        )


def evaluate_forbidden_connectivity(policy: Policy, ctx: Context) -> Iterator[Finding]:
    """Ports the control plane should not reach; only rules written in the code count, since the
    defaults EKS creates (all traffic within the cluster group) are the documented baseline."""
    check = policy.check
    ports = parse_ports(check["ports"])
    if "except" in check:
        ports = ports.difference(parse_ports(check["except"]))
    for view in ctx.topology.clusters:
        cp = view.control_plane
        if cp is None:
            continue
        for ng in view.node_groups:
            for protocol in check["protocols"]:
                reach = ctx.index.reach(cp, ng.endpoint, protocol, ports)
                written = _written_grants(reach.ingress.grants if reach.ingress else ())
                exposed = reach.allowed.intersection(PortSet.of(ports_ for _, ports_ in written))
                if not exposed:
                    continue
                rule = min((r for r, p in written if PortSet((p,)).intersection(exposed)), key=lambda r: r.provenance)
                fix = "limit the rule to TCP 443 and 1025-65535 unless something on the nodes serves a privileged port"
                message = (
                    f"{cp.name} can reach node group {ng.endpoint.name} on privileged {protocol.upper()} "
                    f"{exposed} through this rule. To fix: {fix}."
                )
                yield ctx.violated(
                    policy,
                    message,
                    rule.provenance,
                    view=view,
                    node_group=ng.endpoint.name,
                    peer=f"{ng.endpoint.key}|{protocol}",
                    fix=fix,
                )


def _written_grants(grants: tuple[Rule, ...]) -> list[tuple[Rule, PortRange]]:
    """Grants written in the code for a group (not EKS/EC2 defaults, not CIDRs, which EKS301/302 judge)."""
    return [
        (r, r.ports)
        for r in grants
        if r.form is not RuleForm.IMPLICIT and isinstance(r.peer, SgPeer) and isinstance(r.ports, PortRange)
    ]
