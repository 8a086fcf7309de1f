"""The reachability matrix: for each cluster, every connectivity requirement between the control
plane and each node group, and between node groups, with its verdict and the rules behind it."""

from __future__ import annotations

from dataclasses import dataclass

from .engine.connectivity import OUTSIDE_VPC, endpoint_pairs
from .model import Provenance
from .net import parse_ports
from .policies import PolicySet
from .reachability import Reach, ReachabilityIndex
from .topology import Endpoint, Topology

ALLOWED, BLOCKED, UNKNOWN = "allowed", "blocked", "unknown"


@dataclass(frozen=True, slots=True)
class Node:
    key: str
    name: str
    role: str
    groups: tuple[str, ...]  # names of the groups its interfaces carry


@dataclass(frozen=True, slots=True)
class Edge:
    policy: str
    title: str
    severity: str
    src: str  # node key
    dst: str  # node key, or OUTSIDE_VPC
    wanted: str  # e.g. "TCP 443", "TCP 53 and UDP 53", "all traffic"
    verdict: str
    allowed: str
    blocked: str
    blocking: str  # which side stops it: "egress of X", "ingress of Y"
    granted_by: tuple[Provenance, ...]


@dataclass(frozen=True, slots=True)
class ClusterMatrix:
    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def reachability_matrix(topology: Topology, policies: PolicySet) -> tuple[ClusterMatrix, ...]:
    index = ReachabilityIndex(topology)
    connectivity = [p for p in policies.policies if p.kind == "connectivity"]
    matrices = []
    for view in topology.clusters:
        endpoints = ([view.control_plane] if view.control_plane else []) + [ng.endpoint for ng in view.node_groups]
        nodes = tuple(Node(e.key, e.name, e.role, tuple(_group_names(topology, e))) for e in endpoints)
        edges: list[Edge] = []
        for policy in connectivity:
            check = policy.check
            ports = parse_ports(check["ports"])
            for src, dst in endpoint_pairs(view, check["from"], check["to"]):
                if src is None or (dst is None and check["to"] != OUTSIDE_VPC):
                    continue
                reaches = [
                    index.reach(src, dst, p, ports) if dst else index.reach_outside(src, p, ports)
                    for p in check["protocols"]
                ]
                edges.append(_edge(topology, policy.id, policy.title, policy.severity, src, dst, reaches))
        matrices.append(ClusterMatrix(view.name, nodes, tuple(edges)))
    return tuple(matrices)


def _group_names(topology: Topology, endpoint: Endpoint) -> list[str]:
    names = [g.name if (g := topology.group(k)) else k for k in endpoint.groups]
    return names + [f"unknown: {u.what}" for u in endpoint.unknown_groups]


def _edge(
    topology: Topology,
    policy: str,
    title: str,
    severity: str,
    src: Endpoint,
    dst: Endpoint | None,
    reaches: list[Reach],
) -> Edge:
    def text(kind: str) -> str:
        parts = []
        for r in reaches:
            ports = getattr(r, kind)
            if ports:
                parts.append("all traffic" if r.protocol == "all" else f"{r.protocol.upper()} {ports}")
        return " and ".join(parts)

    blocked = text("blocked")
    verdict = BLOCKED if blocked else UNKNOWN if text("unknown") else ALLOWED
    sides = []
    if any(r.blocked_by_egress for r in reaches):
        sides.append(f"egress of {', '.join(_group_names(topology, src)) or src.name}")
    if dst is not None and any(r.blocked_by_ingress for r in reaches):
        sides.append(f"ingress of {', '.join(_group_names(topology, dst)) or dst.name}")
    grants = {rule.provenance for r in reaches for side in (r.egress, r.ingress) if side for rule in side.grants}
    return Edge(
        policy=policy, title=title, severity=severity, src=src.key, dst=dst.key if dst else OUTSIDE_VPC,
        wanted=text("required"), verdict=verdict, allowed=text("allowed"), blocked=blocked,
        blocking=" and ".join(sides), granted_by=tuple(sorted(grants)),
    )  # fmt: skip
