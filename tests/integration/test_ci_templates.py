"""The GitHub Action: what can be checked offline (no GitHub runner here) is checked for real: its
steps run the installed command with the inputs it declares, in the shells it names."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fixtures" / "examples" / "missing-kubelet-rule.yaml"


def _action() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
    return data


def test_action_is_a_composite_action_with_documented_inputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"  # type: ignore[index]
    assert set(action["inputs"]) == {"paths", "fail-on", "sarif-file", "args", "python-version"}  # type: ignore[arg-type]
    for step in action["runs"]["steps"]:  # type: ignore[index]
        assert "uses" in step or step.get("shell") == "bash", step


def _render(script: str, inputs: dict[str, str]) -> str:
    """Replace the `${{ inputs.x }}` and `${{ github.action_path }}` expressions as a runner would."""
    script = script.replace("${{ github.action_path }}", str(ROOT))
    return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], script)


def test_action_scan_and_sarif_steps_run_for_real(tmp_path: Path) -> None:
    exe = shutil.which("eks-sg-policy", path=str(Path(sys.executable).parent))
    assert exe is not None
    action = _action()
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}  # type: ignore[union-attr]
    inputs.update({"paths": str(EXAMPLE), "sarif-file": str(tmp_path / "out.sarif")})
    steps = {step.get("name"): step for step in action["runs"]["steps"]}  # type: ignore[index]
    env = {**os.environ, "PATH": f"{Path(exe).parent}{os.pathsep}{os.environ['PATH']}",
           "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}  # fmt: skip
    sarif = subprocess.run(["bash", "-c", _render(steps["SARIF report"]["run"], inputs)], env=env, cwd=ROOT,
                           capture_output=True, text=True)  # fmt: skip
    assert sarif.returncode == 0 and (tmp_path / "out.sarif").read_text("utf-8").startswith("{")
    scan = subprocess.run(["bash", "-c", _render(steps["Scan"]["run"], inputs)], env=env, cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    assert scan.returncode == 1, scan.stderr
    assert "::error file=" in scan.stdout and "EKS102" in scan.stdout
    assert (tmp_path / "output").read_text("utf-8").strip() == "exit-code=1"
    assert "eks-sg-policy" in (tmp_path / "summary.md").read_text("utf-8")
