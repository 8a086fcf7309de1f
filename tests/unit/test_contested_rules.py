"""Rule resources on a group whose inline blocks are authoritative (EKS305) are only possibly in force
for the requirements, but stay in force for the exposure checks: a rule that is there every other
apply must neither carry a requirement nor hide an exposure."""

from __future__ import annotations

from pathlib import Path

from eks_sg_policy.api import scan

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "terraform" / "eks305-load-bearing" / "main.tf"

SSH_FROM_CONTROL_PLANE = """
resource "aws_vpc_security_group_ingress_rule" "node_ssh_from_control_plane" {
  security_group_id            = aws_security_group.node.id
  referenced_security_group_id = aws_security_group.control_plane.id
  ip_protocol                  = "tcp"
  from_port                    = 22
  to_port                      = 22
}
"""


def _scan(tmp_path: Path, extra: str = "") -> dict[str, set[str]]:
    module = tmp_path / "mod"
    module.mkdir()
    (module / "main.tf").write_text(FIXTURE.read_text("utf-8") + extra, "utf-8")
    report = scan([str(module)])
    assert report.errors == ()
    found: dict[str, set[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.policy, set()).add(finding.status)
    return found


def test_a_contested_rule_does_not_carry_a_requirement(tmp_path: Path) -> None:
    assert _scan(tmp_path) == {"EKS305": {"violated"}, "EKS900": {"unverified"}}


def test_a_contested_rule_still_counts_as_an_exposure(tmp_path: Path) -> None:
    found = _scan(tmp_path, SSH_FROM_CONTROL_PLANE)
    assert found["EKS303"] == {"violated"}  # TCP 22 from the control plane, on every other apply
    assert found["EKS305"] == {"violated"}
