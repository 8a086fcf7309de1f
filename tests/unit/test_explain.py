"""`explain`: the reachability matrix, and the same as Mermaid and Graphviz DOT."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from eks_sg_policy.api import ScanOptions, scan
from eks_sg_policy.cli import main
from eks_sg_policy.explain import ALLOWED, BLOCKED, ClusterMatrix
from eks_sg_policy.report.diagram import render_dot, render_matrix_text, render_mermaid

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fixtures" / "examples" / "missing-kubelet-rule.yaml"


@pytest.fixture(scope="module")
def matrices() -> tuple[ClusterMatrix, ...]:
    return scan([str(EXAMPLE)], ScanOptions(matrix=True)).matrices


def test_matrix_has_every_requirement_with_its_verdict(matrices: tuple[ClusterMatrix, ...]) -> None:
    (matrix,) = matrices
    verdicts = {edge.policy: edge.verdict for edge in matrix.edges}
    assert verdicts == {"EKS101": ALLOWED, "EKS102": BLOCKED, "EKS103": ALLOWED, "EKS104": ALLOWED,
                        "EKS105": BLOCKED, "EKS106": ALLOWED, "EKS107": ALLOWED}  # fmt: skip
    kubelet = next(e for e in matrix.edges if e.policy == "EKS102")
    assert (kubelet.blocked, kubelet.blocking) == ("TCP 10250", "ingress of NodeSecurityGroup")
    api = next(e for e in matrix.edges if e.policy == "EKS101")
    # Granted by the control plane's ingress rule (line 23) and the node group's default egress (line 44).
    assert [(p.file.endswith("missing-kubelet-rule.yaml"), p.line) for p in api.granted_by] == [(True, 23), (True, 44)]


def test_text_table_names_rules_and_blocking_side(matrices: tuple[ClusterMatrix, ...]) -> None:
    text = render_matrix_text(matrices)
    assert "EKS102 Control plane reaches the kubelet on TCP 10250" in text
    assert "✗ blocked  TCP 10250 blocked by ingress of NodeSecurityGroup" in text
    assert re.search(r"EKS101 .*✓ allowed\s+\S*missing-kubelet-rule.yaml:23,44", text)


def test_mermaid_structure(matrices: tuple[ClusterMatrix, ...]) -> None:
    text = render_mermaid(matrices)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert 'c0_cp[["control plane of Cluster' in text and 'c0_ng1["NodeGroup' in text
    edges = [line for line in lines if "|" in line and ("-->" in line or "-.->" in line)]
    assert len(edges) == 4  # node->cp, cp->node, node->itself, node->outside
    styles = [line for line in lines if line.strip().startswith("linkStyle")]
    assert len(styles) == len(edges)
    cp_to_node = next(line for line in edges if line.strip().startswith("c0_cp"))
    assert "-.->" in cp_to_node and "✗ TCP 10250 (EKS102)" in cp_to_node
    assert "stroke:#cf222e" in styles[edges.index(cp_to_node)]


def test_dot_is_accepted_by_graphviz(matrices: tuple[ClusterMatrix, ...], tmp_path: Path) -> None:
    dot = shutil.which("dot")
    if dot is None:
        pytest.skip("Graphviz `dot` is not installed (apt-get install graphviz)")
    source = tmp_path / "graph.dot"
    source.write_text(render_dot(matrices), "utf-8")
    result = subprocess.run([dot, "-Tsvg", str(source)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "<svg" in result.stdout and "control plane of Cluster" in result.stdout
    assert result.stdout.count('class="edge"') == 4


def test_explain_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(EXAMPLE)]) == 0
    assert "cluster demo" in capsys.readouterr().out
    assert main(["explain", "--diagram", "dot", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.startswith("digraph eks_sg_policy {")


def test_markdown_report_embeds_the_diagram(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--format", "markdown", str(EXAMPLE)]) == 1
    out = capsys.readouterr().out
    assert "```mermaid\nflowchart LR" in out
    assert "```yaml" in out and "NodeSecurityGroupIngressTcp10250FromControlPlaneSecurityGroup:" in out
