"""The command line: exit codes, options, configuration, baseline, suppressions."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eks_sg_policy.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fixtures" / "examples" / "missing-kubelet-rule.yaml"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / "cluster.yaml"
    shutil.copy(EXAMPLE, target)
    return target


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["check", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def _policies(data: dict[str, object]) -> list[str]:
    return [f["policy"] for f in data["findings"]]  # type: ignore[index, union-attr]


def test_exit_code_is_1_on_an_error_finding_and_0_when_failing_only_on_never(example: Path) -> None:
    assert main(["check", str(example)]) == 1
    assert main(["check", "--fail-on", "never", str(example)]) == 0


def test_fail_on_warning_counts_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.read_text("utf-8")
    template = tmp_path / "t.yaml"
    template.write_text(text, "utf-8")
    assert main(["check", "--skip", "EKS102", str(template)]) == 0
    assert main(["check", "--skip", "EKS102", "--fail-on", "warning", str(template)]) == 1
    assert main(["check", "--skip", "EKS102,EKS105", "--fail-on", "note", str(template)]) == 1
    capsys.readouterr()


def test_json_output_has_the_contract_keys(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = _json(capsys, str(example))
    assert code == 1
    assert set(data) >= {"version", "tool", "findings", "errors", "summary"}
    first = data["findings"][0]  # type: ignore[index]
    assert set(first) >= {
        "policy",
        "severity",
        "status",
        "message",
        "file",
        "line",
        "resource",
        "cluster",
        "node_group",
        "doc",
        "fix",
    }
    assert first["doc"]["url"].startswith("https://docs.aws.amazon.com/eks/")
    assert data["summary"] == {
        "files": 1,
        "clusters": 1,
        "node_groups": 1,
        "error": 1,
        "warning": 1,
        "note": 1,
        "unverified": 0,
        "suppressed": 0,
    }


def test_only_and_unknown_policy_ids(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = _json(capsys, "--only", "eks105", str(example))
    assert (code, _policies(data)) == (0, ["EKS105"])
    assert main(["check", "--only", "EKS999", str(example)]) == 2
    assert "unknown policy id 'EKS999'" in capsys.readouterr().err


def test_missing_path_and_unknown_extension_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "nope.yaml")]) == 2
    other = tmp_path / "notes.txt"
    other.write_text("hello", "utf-8")
    assert main(["check", str(other)]) == 2
    out = capsys.readouterr().out
    assert "no such file or directory" in out and "not a CloudFormation template" in out


def test_a_broken_file_next_to_a_clean_one_exits_2_even_with_fail_on_never(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.yaml").write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources: [\n", "utf-8")
    shutil.copy(EXAMPLE, tmp_path / "ok.yaml")
    assert main(["check", "--fail-on", "never", str(tmp_path)]) == 2
    assert "broken.yaml:" in capsys.readouterr().out


def test_non_cloudformation_yaml_in_a_directory_is_skipped_and_said_under_verbose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "values.yaml").write_text("replicas: 3\nimage: nginx\n", "utf-8")
    assert main(["check", "--verbose", str(tmp_path)]) == 0
    assert "values.yaml: not CloudFormation or Terraform, skipped" in capsys.readouterr().out


def test_config_file_is_found_by_walking_up_and_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".eks-sg-policy.yaml").write_text("skip: [EKS102]\nfail-on: warning\n", "utf-8")
    (tmp_path / "stacks").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "stacks" / "cluster.yaml")
    code, data = _json(capsys, str(tmp_path / "stacks"))
    assert code == 1  # EKS105 is a warning and the configuration fails on warnings
    assert "EKS102" not in _policies(data)


def test_pyproject_section_is_a_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.eks-sg-policy]\nonly = ["EKS201"]\n', "utf-8")
    shutil.copy(EXAMPLE, tmp_path / "cluster.yaml")
    code, data = _json(capsys, str(tmp_path / "cluster.yaml"))
    assert (code, _policies(data)) == (0, ["EKS201"])


def test_a_wrong_configuration_key_is_exit_2_naming_key_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / ".eks-sg-policy.yaml"
    config.write_text("fail_on: warning\n", "utf-8")
    shutil.copy(EXAMPLE, tmp_path / "cluster.yaml")
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(config) in err and "unknown option 'fail_on'" in err


def test_baseline_hides_known_findings_and_reports_new_and_gone_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "cluster.yaml"
    shutil.copy(EXAMPLE, template)
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", str(template), "-o", str(baseline)]) == 0
    assert "wrote 3 finding(s)" in capsys.readouterr().out
    # An edit that moves every line does not resurrect the known findings.
    template.write_text("# a comment\n" + template.read_text("utf-8"), "utf-8")
    code, data = _json(capsys, "--baseline", str(baseline), str(template))
    assert (code, _policies(data)) == (0, [])
    assert data["summary"]["suppressed"] == 3  # type: ignore[index]
    # Fixing one finding makes its baseline entry gone.
    assert main(["check", "--baseline", str(baseline), "--skip", "EKS201", str(template)]) == 0
    out = capsys.readouterr().out
    assert "2 known finding(s) from the baseline" in out
    assert "no longer found: EKS201" in out


def test_cloudformation_skip_metadata_with_reason_and_expiry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXAMPLE.read_text("utf-8").replace(
        "  NodeSecurityGroup:\n    Type: AWS::EC2::SecurityGroup\n",
        "  NodeSecurityGroup:\n    Type: AWS::EC2::SecurityGroup\n"
        "    Metadata:\n      eks-sg-policy:\n        skip:\n"
        "          - {id: EKS102, reason: kubelet reached through a proxy}\n"
        "          - {id: EKS105, reason: temporary, expires: 2000-01-01}\n",
    )
    template = tmp_path / "t.yaml"
    template.write_text(text, "utf-8")
    assert main(["check", "--verbose", str(template)]) == 0
    out = capsys.readouterr().out
    assert "EKS102 suppressed (kubelet reached through a proxy)" in out
    assert "EKS105 warning" in out  # the expired skip no longer applies ...
    assert "expired on 2000-01-01" in out  # ... and says so


def test_a_skip_without_reason_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.read_text("utf-8").replace(
        "  NodeSecurityGroup:\n    Type: AWS::EC2::SecurityGroup\n",
        "  NodeSecurityGroup:\n    Type: AWS::EC2::SecurityGroup\n"
        "    Metadata:\n      eks-sg-policy:\n        skip:\n          - {id: EKS102}\n",
    )
    template = tmp_path / "t.yaml"
    template.write_text(text, "utf-8")
    assert main(["check", str(template)]) == 2
    assert "reason" in capsys.readouterr().out


def test_terraform_skip_comment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_eks_cluster" "this" {\n'
        '  name     = "demo"\n'
        '  role_arn = "arn:aws:iam::111122223333:role/eks"\n'
        "  vpc_config {\n"
        '    subnet_ids = ["subnet-1", "subnet-2"]\n'
        "  }\n"
        "}\n"
        "# eks-sg-policy:skip=EKS302 public NodePorts are fronted by a firewall appliance\n"
        'resource "aws_security_group_rule" "nodeports" {\n'
        '  type              = "ingress"\n'
        "  security_group_id = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id\n"
        '  protocol          = "tcp"\n'
        "  from_port         = 30000\n"
        "  to_port           = 32767\n"
        '  cidr_blocks       = ["0.0.0.0/0"]\n'
        "}\n",
        "utf-8",
    )
    code, data = _json(capsys, "--verbose", str(tmp_path))
    assert (code, _policies(data)) == (0, [])
    assert [f["policy"] for f in data["suppressed"]] == ["EKS302"]  # type: ignore[union-attr, index]


def test_policies_command_lists_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies", "--format", "json"]) == 0
    ids = [p["id"] for p in json.loads(capsys.readouterr().out)["policies"]]
    assert ids[:3] == ["EKS101", "EKS102", "EKS103"] and "EKS900" in ids
    assert main(["policies", "--edition", "current"]) == 0
    out = capsys.readouterr().out
    assert "EKS101" in out and "EKS104" not in out  # EKS104 comes from a 2020 table only


def test_the_installed_command_and_module_entry_point(example: Path) -> None:
    exe = shutil.which("eks-sg-policy", path=str(Path(sys.executable).parent))
    assert exe, "the console script is not installed next to the interpreter"
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("eks-sg-policy ")
    module = subprocess.run(
        [sys.executable, "-m", "eks_sg_policy", "check", str(example)], capture_output=True, text=True
    )
    assert module.returncode == 1 and "EKS102 error" in module.stdout


def test_no_colour_unless_a_terminal(example: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "eks_sg_policy", "check", str(example)], capture_output=True, text=True
    )
    assert "\033[" not in result.stdout


def test_sarif_of_the_failing_example_validates_and_carries_fix_suggestions(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema

    assert main(["check", "--format", "sarif", str(example)]) == 1
    sarif = json.loads(capsys.readouterr().out)
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))
    assert not list(jsonschema.Draft7Validator(schema).iter_errors(sarif))
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    insert = results["EKS102"]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert insert["deletedRegion"]["startLine"] == 44
    assert "Type: AWS::EC2::SecurityGroupIngress" in insert["insertedContent"]["text"]
    assert "fixes" not in results["EKS201"]


def test_json_fix_is_the_snippet_for_connectivity_findings(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, data = _json(capsys, "--only", "EKS102", str(example))
    finding = data["findings"][0]  # type: ignore[index]
    assert finding["fix"].startswith("  NodeSecurityGroupIngressTcp10250FromControlPlaneSecurityGroup:\n")
    assert finding["fix_edits"][0]["insert_before_line"] == 44
    assert finding["fix_hint"].startswith("add an ingress rule on NodeSecurityGroup")


NODE_STACK = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  UpstreamGroup:
    Type: AWS::EC2::SecurityGroup::Id
  VpcId:
    Type: AWS::EC2::VPC::Id
Resources:
  NodeSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: nodes
      VpcId: !Ref VpcId
      Tags: [{Key: kubernetes.io/cluster/demo, Value: owned}]
  NodeSelf:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: !Ref NodeSecurityGroup, SourceSecurityGroupId: !Ref NodeSecurityGroup, IpProtocol: "-1"}
  NodeFromUpstream:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !Ref NodeSecurityGroup
      SourceSecurityGroupId: !Ref UpstreamGroup
      IpProtocol: tcp
      FromPort: 443
      ToPort: 443
  NodeLaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        SecurityGroupIds: [!Ref NodeSecurityGroup]
        UserData: {"Fn::Base64": "#!/bin/bash\\n/etc/eks/bootstrap.sh demo\\n"}
  NodeGroup:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: "1"
      MaxSize: "2"
      LaunchTemplate: {LaunchTemplateId: !Ref NodeLaunchTemplate, Version: "1"}
"""


def test_role_mapping_names_the_control_plane_of_a_node_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "nodes.yaml"
    template.write_text(NODE_STACK, "utf-8")
    # Nothing says which group is the control plane's: every requirement toward it is unverified.
    _, unmapped = _json(capsys, "--only", "EKS101,EKS102,EKS900", str(template))
    assert {(f["policy"], f["status"]) for f in unmapped["findings"]} == {("EKS900", "unverified")}  # type: ignore[index]
    assert "--role control-plane=NAME" in unmapped["findings"][0]["message"]  # type: ignore[index]
    # Mapped: the stack itself proves the kubelet gap (only 443 is admitted from the control plane).
    code, mapped = _json(
        capsys, "--only", "EKS101,EKS102,EKS900", "--role", "control-plane=UpstreamGroup", str(template)
    )
    policies = sorted((f["policy"], f["status"]) for f in mapped["findings"])  # type: ignore[union-attr]
    assert code == 1 and ("EKS102", "violated") in policies
    # EKS101 still depends on the control plane group's own ingress rules, which are elsewhere.
    assert ("EKS900", "unverified") in policies


def test_stack_name_links_an_export_pattern_explicitly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = ROOT.parent / "shared" / "corpus" / "eksctl" / "pkg" / "cfn" / "template" / "testdata"
    if not corpus.is_dir():
        pytest.skip("the shared corpus is not present next to the repository")
    cluster, nodes = corpus / "cluster-example-1.json", corpus / "nodegroup-example-1.json"
    _, data = _json(capsys, "--verbose", "--stack-name", f"{cluster}=eksctl-test-cluster", str(cluster), str(nodes))
    assert not [f for f in data["findings"] if f["status"] == "unverified"]  # type: ignore[union-attr, index]
    assert not any("stack name taken as" in n for n in data["notes"])  # type: ignore[union-attr]
    _, data = _json(capsys, "--verbose", "--stack-name", f"{cluster}=another-stack", str(cluster), str(nodes))
    assert any(f["status"] == "unverified" for f in data["findings"])  # type: ignore[union-attr, index]
