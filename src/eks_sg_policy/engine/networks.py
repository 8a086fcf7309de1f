"""Address-family and hybrid-network requirements (EKS108, EKS109)."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ..model import CidrPeer, Direction, Unresolved
from ..net import NO_PORTS, TCP, IPNetwork, PortSet, parse_ports, protocol_matches
from ..policies import Policy
from ..topology import Endpoint
from .context import Context


def evaluate_dual_stack_egress(policy: Policy, ctx: Context) -> Iterator[Finding]:
    for view in ctx.topology.clusters:
        if view.ip_family != "ipv6" and not isinstance(view.ip_family, Unresolved):
            continue
        for ng in view.node_groups:
            endpoint = ng.endpoint
            families = _egress_families(ctx, endpoint)
            if {4, 6} <= families:
                continue
            unknowns = list(endpoint.unknown_groups) + [
                Unresolved(
                    f"egress rules of {g.name} are not all in this scan",
                    g.provenance,
                    "scan the stack that creates it too",
                )
                for k in endpoint.groups
                if (g := ctx.topology.group(k)) is not None and not g.complete
            ]
            if isinstance(view.ip_family, Unresolved):
                unknowns.insert(0, view.ip_family)
            if unknowns:
                finding = ctx.unverified(
                    policy,
                    f"node group {endpoint.name}",
                    unknowns,
                    endpoint.provenance,
                    view=view,
                    node_group=endpoint.name,
                )
                if finding:
                    yield finding
                continue
            missing = "IPv6 (::/0)" if 6 not in families else "IPv4 (0.0.0.0/0)"
            group = ctx.fix_group(endpoint)
            fix = f"add an egress rule on {group.name if group else endpoint.name} to {missing.split()[1]}"
            message = (
                f"node group {endpoint.name} of IPv6 cluster {view.name} has no {missing} egress rule. To fix: {fix}."
            )
            yield ctx.violated(
                policy,
                message,
                group.provenance if group else endpoint.provenance,
                view=view,
                node_group=endpoint.name,
                fix=fix,
            )


def _egress_families(ctx: Context, endpoint: Endpoint) -> set[int]:
    return {
        rule.peer.network.version
        for key in endpoint.groups
        for rule in ctx.index.rules_of(key, Direction.EGRESS)
        if isinstance(rule.peer, CidrPeer) and rule.condition is None
    }


def evaluate_remote_networks(policy: Policy, ctx: Context) -> Iterator[Finding]:
    inbound, outbound = parse_ports(policy.check["inbound_ports"]), parse_ports(policy.check["outbound_ports"])
    for view in ctx.topology.clusters:
        cluster, cp = view.cluster, view.control_plane
        if cluster is None or cp is None:
            continue
        checks = [(n, Direction.INGRESS, inbound) for n in cluster.remote_node_networks]
        checks += [(n, Direction.EGRESS, outbound) for n in cluster.remote_node_networks + cluster.remote_pod_networks]
        for network, direction, ports in checks:
            if isinstance(network, Unresolved):
                finding = ctx.unverified(
                    policy, f"remote network of cluster {view.name}", [network], cluster.provenance, view=view
                )
                if finding:
                    yield finding
                continue
            missing = ports.difference(_covered(ctx, cp, direction, network))
            if not missing:
                continue
            group = ctx.fix_group(cp)
            verb = "from" if direction is Direction.INGRESS else "to"
            fix = f"add an {direction.value} rule on {group.name if group else cp.name}: TCP {missing} {verb} {network}"
            message = f"{cp.name} does not allow TCP {missing} {verb} the hybrid network {network}. To fix: {fix}."
            yield ctx.violated(
                policy,
                message,
                group.provenance if group else cp.provenance,
                view=view,
                peer=f"{direction.value}|{network}",
                fix=fix,
            )


def _covered(ctx: Context, cp: Endpoint, direction: Direction, network: IPNetwork) -> PortSet:
    covered = NO_PORTS
    for key in cp.groups:
        for rule in ctx.index.rules_of(key, direction):
            if (
                isinstance(rule.peer, CidrPeer)
                and rule.peer.network.version == network.version
                and rule.peer.network.supernet_of(network)  # type: ignore[arg-type]
                and not isinstance(rule.protocol, Unresolved)
                and protocol_matches(rule.protocol, TCP)
                and not isinstance(rule.ports, Unresolved)
            ):
                covered = covered.union(PortSet((rule.ports,)))
    return covered
