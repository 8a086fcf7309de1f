"""The real pre-commit, running this repository's hook against a temporary git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fixtures" / "examples" / "missing-kubelet-rule.yaml"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the module: pre-commit builds it (pip install of this repo) once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _repo_with(tmp_path: Path, name: str, text: str) -> Path:
    repo = tmp_path / "infra"
    (repo / "templates").mkdir(parents=True)
    (repo / "templates" / name).write_text(text, "utf-8")
    (repo / "README.md").write_text("not a template\n", "utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    return repo


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "eks-sg-policy", "--all-files", "--verbose"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_hook_fails_the_commit_on_a_missing_kubelet_rule(tmp_path: Path, pre_commit_home: Path) -> None:
    repo = _repo_with(tmp_path, "cluster.yaml", EXAMPLE.read_text("utf-8"))
    result = _try_repo(repo, pre_commit_home)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "templates/cluster.yaml:44: EKS102 error" in output
    assert "Failed" in output


def test_hook_passes_once_the_rule_is_added(tmp_path: Path, pre_commit_home: Path) -> None:
    fixed = EXAMPLE.read_text("utf-8").replace(
        "  NodeToNodeIngress:\n",
        "  KubeletFromControlPlane:\n"
        "    Type: AWS::EC2::SecurityGroupIngress\n"
        "    Properties:\n"
        "      GroupId: !Ref NodeSecurityGroup\n"
        "      SourceSecurityGroupId: !Ref ControlPlaneSecurityGroup\n"
        "      IpProtocol: tcp\n"
        "      FromPort: 1025\n"
        "      ToPort: 65535\n\n"
        "  NodeToNodeIngress:\n",
    )
    repo = _repo_with(tmp_path, "cluster.yaml", fixed)
    result = _try_repo(repo, pre_commit_home)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Passed" in output
