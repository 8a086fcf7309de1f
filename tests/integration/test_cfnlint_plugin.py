"""The real cfn-lint, loading the rules with `--append-rules eks_sg_policy.cfnlint`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fixtures" / "examples" / "missing-kubelet-rule.yaml"

pytest.importorskip("cfnlint", reason="cfn-lint is not installed (pip install '.[test]')")


def _cfn_lint(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or "cfn-lint"
    return subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def _matches(output: str) -> list[tuple[int, str]]:
    """(line, rule id) of each `-f parseable` line: path:line:col:endline:endcol:RULE:message."""
    found = []
    for line in output.splitlines():
        parts = line.split(":", 6)
        if len(parts) == 7 and parts[1].isdigit():
            found.append((int(parts[1]), parts[5]))
    return found


def test_plugin_reports_the_catalog_ids_at_cfn_lint_lines() -> None:
    result = _cfn_lint(
        "--append-rules", "eks_sg_policy.cfnlint", "--include-checks", "I", "-f", "parseable", "--", str(EXAMPLE)
    )
    assert _matches(result.stdout) == [(44, "E9102"), (44, "W9105"), (67, "I9201")], result.stdout + result.stderr
    assert "TCP 10250 is blocked by the ingress of NodeSecurityGroup" in result.stdout
    assert result.returncode == 2 | 4 | 8, result.stderr  # cfn-lint's bit flags: error, warning, informational


def test_plugin_lists_a_rule_per_policy() -> None:
    result = _cfn_lint("--append-rules", "eks_sg_policy.cfnlint", "--list-rules")
    for rule in ("E9101", "E9102", "E9103", "W9104", "W9107", "I9201", "E9203", "W9301", "E9302", "W9306", "I9900"):
        assert rule in result.stdout, rule


def test_ignore_checks_metadata_is_honoured(tmp_path: Path) -> None:
    text = EXAMPLE.read_text("utf-8").replace(
        "  NodeSecurityGroup:\n    Type: AWS::EC2::SecurityGroup\n",
        "  NodeSecurityGroup:\n    Type: AWS::EC2::SecurityGroup\n"
        "    Metadata:\n      cfn-lint:\n        config:\n          ignore_checks: [E9102]\n",
    )
    template = tmp_path / "template.yaml"
    template.write_text(text, "utf-8")
    result = _cfn_lint("--append-rules", "eks_sg_policy.cfnlint", "-f", "parseable", "--", str(template))
    assert [rule for _, rule in _matches(result.stdout)] == ["W9105"], result.stdout + result.stderr


def test_cfnlintrc_append_rules(tmp_path: Path) -> None:
    (tmp_path / ".cfnlintrc").write_text("append_rules:\n  - eks_sg_policy.cfnlint\n", "utf-8")
    (tmp_path / "template.yaml").write_text(EXAMPLE.read_text("utf-8"), "utf-8")
    result = _cfn_lint("-f", "parseable", "template.yaml", cwd=tmp_path)
    assert (44, "E9102") in _matches(result.stdout), result.stdout + result.stderr


def test_a_clean_template_has_no_plugin_matches() -> None:
    corpus = ROOT.parent / "shared" / "corpus" / "amazon-eks-ami@edb1d41" / "amazon-eks-nodegroup.yaml"
    if not corpus.exists():
        pytest.skip("the shared corpus is not present next to the repository")
    result = _cfn_lint("--append-rules", "eks_sg_policy.cfnlint", "-f", "parseable", "--", str(corpus))
    assert not [rule for _, rule in _matches(result.stdout) if re.fullmatch(r"[EWI]9\d{3}", rule)], result.stdout
