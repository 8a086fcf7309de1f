"""The reachability matrix as a terminal table, a Mermaid flowchart or a Graphviz DOT graph.

Nodes are the control plane and the node groups with their groups; an edge gathers every
requirement from one to the other, labelled with the ports and coloured by the worst verdict."""

from __future__ import annotations

import re
from collections import defaultdict

from ..explain import ALLOWED, BLOCKED, UNKNOWN, ClusterMatrix, Edge
from ..topology import CONTROL_PLANE

_MARK = {ALLOWED: "✓", BLOCKED: "✗", UNKNOWN: "?"}
_COLOUR = {ALLOWED: "#2da44e", BLOCKED: "#cf222e", UNKNOWN: "#bf8700"}
_OUTSIDE = "outside-vpc"


def render_matrix_text(matrices: tuple[ClusterMatrix, ...]) -> str:
    out: list[str] = []
    for matrix in matrices:
        names = {n.key: n.name for n in matrix.nodes} | {_OUTSIDE: "outside the VPC"}
        out.append(f"cluster {matrix.name}")
        for node in matrix.nodes:
            out.append(f"  {node.name}: {', '.join(node.groups) or 'no security group'}")
        rows = [("requirement", "from", "to", "needs", "verdict", "granted by / blocked by")]
        for edge in matrix.edges:
            why = _places(edge) if edge.verdict == ALLOWED else edge.blocking
            if edge.verdict == BLOCKED:
                why = f"{edge.blocked} blocked by {edge.blocking}"
            elif edge.verdict == UNKNOWN:
                why = "depends on values the scan cannot see (see EKS900)"
            rows.append((f"{edge.policy} {edge.title}", names[edge.src], names[edge.dst], edge.wanted,
                         f"{_MARK[edge.verdict]} {edge.verdict}", why))  # fmt: skip
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        for row in rows:
            out.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
        out.append("")
    return "\n".join(out)


def _places(edge: Edge) -> str:
    """`file:23,44` rather than the file name again for every rule."""
    lines: dict[str, list[str]] = defaultdict(list)
    for place in edge.granted_by:
        lines[place.file].append(str(place.line))
    return "; ".join(f"{file}:{','.join(numbers)}" for file, numbers in lines.items())


def _grouped(matrix: ClusterMatrix) -> dict[tuple[str, str], list[Edge]]:
    grouped: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for edge in matrix.edges:
        grouped[(edge.src, edge.dst)].append(edge)
    return grouped


def _worst(edges: list[Edge]) -> str:
    verdicts = {e.verdict for e in edges}
    return BLOCKED if BLOCKED in verdicts else UNKNOWN if UNKNOWN in verdicts else ALLOWED


def _ids(matrix: ClusterMatrix) -> dict[str, str]:
    ids = {_OUTSIDE: "outside"}
    for index, node in enumerate(matrix.nodes):
        ids[node.key] = "cp" if node.role == CONTROL_PLANE and index == 0 else f"ng{index}"
    return ids


def render_mermaid(matrices: tuple[ClusterMatrix, ...]) -> str:
    out = ["flowchart LR"]
    links = 0
    for number, matrix in enumerate(matrices):
        ids = {k: f"c{number}_{v}" for k, v in _ids(matrix).items()}
        out.append(f'  subgraph c{number}["cluster {_mermaid_text(matrix.name)}"]')
        for node in matrix.nodes:
            shape = ("[[", "]]") if node.role == CONTROL_PLANE else ("[", "]")
            label = f"{node.name}<br/><small>{', '.join(node.groups)}</small>"
            out.append(f'    {ids[node.key]}{shape[0]}"{_mermaid_text(label)}"{shape[1]}')
        out.append("  end")
        styles = []
        grouped = _grouped(matrix)
        if any(dst == _OUTSIDE for _, dst in grouped):
            out.append(f'  {ids[_OUTSIDE]}(("outside the VPC"))')
        for (src, dst), edges in grouped.items():
            label = "<br/>".join(f"{_MARK[e.verdict]} {e.wanted} ({e.policy})" for e in edges)
            arrow = "-->" if _worst(edges) == ALLOWED else "-.->"
            out.append(f'  {ids[src]} {arrow}|"{_mermaid_text(label)}"| {ids[dst]}')
            styles.append(f"  linkStyle {links} stroke:{_COLOUR[_worst(edges)]},stroke-width:2px")
            links += 1
        out.extend(styles)
    return "\n".join(out) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def render_dot(matrices: tuple[ClusterMatrix, ...]) -> str:
    out = ["digraph eks_sg_policy {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];',
           '  edge [fontname="Helvetica", fontsize=10];']  # fmt: skip
    for number, matrix in enumerate(matrices):
        ids = {k: f"c{number}_{v}" for k, v in _ids(matrix).items()}
        out.append(f"  subgraph cluster_{number} {{")
        out.append(f"    label={_dot_string('cluster ' + matrix.name)};")
        for node in matrix.nodes:
            shape = "box3d" if node.role == CONTROL_PLANE else "box"
            label = node.name + "\\n" + ", ".join(node.groups)
            out.append(f"    {ids[node.key]} [shape={shape}, label={_dot_string(label, raw=True)}];")
        out.append("  }")
        grouped = _grouped(matrix)
        if any(dst == _OUTSIDE for _, dst in grouped):
            out.append(f'  {ids[_OUTSIDE]} [shape=ellipse, label="outside the VPC"];')
        for (src, dst), edges in grouped.items():
            label = "\\n".join(f"{_MARK[e.verdict]} {e.wanted} ({e.policy})" for e in edges)
            worst = _worst(edges)
            style = "solid" if worst == ALLOWED else "dashed"
            out.append(f"  {ids[src]} -> {ids[dst]} [label={_dot_string(label, raw=True)}, "
                       f'color="{_COLOUR[worst]}", fontcolor="{_COLOUR[worst]}", style={style}];')  # fmt: skip
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_string(text: str, raw: bool = False) -> str:
    escaped = text.replace("\\", "\\\\") if not raw else re.sub(r"\\(?!n)", r"\\\\", text)
    return '"' + escaped.replace('"', '\\"') + '"'
