"""Hostile inputs end in a one-line error that names the file (and the line), or in correct findings.

Never a traceback, never more than a deadline of wall time or 1.5 GiB of address space, and never
exit 0 when something could not be read: every refused input is scanned next to a clean template
with `--fail-on never`, and the run must still exit 2 and still report the clean template.

Part 1 runs the real CLI in subprocesses (two at a time, each with its own deadline and memory cap):
the classes that threaten time or memory, and a representative subset of the rest. Part 2 calls
`scan()` in-process for the remaining classes (wrong types, references, cycles, CIDR tricks).

Cases marked `bug=` fail because of a known product bug; they
are strict xfails, so fixing the bug turns them into failures until the marker is removed.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

import pytest

from eks_sg_policy.api import Report, ScanOptions, scan

from ._support import (
    DEADLINE,
    ERROR_PREFIX,
    FIXTURES,
    REPO,
    SMALL_DEADLINE,
    CliRun,
    memory_cap,
    run_many,
    subprocess_env,
    time_limit,
)

MAX_RSS_MIB = 1024  # a healthy run stays far below the 1.5 GiB cap (the 50 MB template peaks near 530 MiB)
CLEAN = "clean/stack.yaml"  # EKS301 fixture scanned next to every refused input
CLEAN_SOURCE = FIXTURES / "cloudformation" / "eks301-fail.yaml"
TFPLAN_SOURCE = REPO / "tests" / "data" / "tfplan" / "module-nodes.json"

# --- inputs -------------------------------------------------------------------------------------

CFN_STACK = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Name: demo
      RoleArn: arn:aws:iam::123456789012:role/eks-cluster
      ResourcesVpcConfig:
        SubnetIds: [subnet-1, subnet-2]
  NodeSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: {description}
      VpcId: vpc-0123456789abcdef0
      SecurityGroupIngress:
{rules}
  NodeLaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        SecurityGroupIds: [!Ref NodeSecurityGroup]
  NodeGroup:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: !Ref Cluster
      NodeRole: arn:aws:iam::123456789012:role/eks-node
      Subnets: [subnet-1]
      LaunchTemplate:
        Id: !Ref NodeLaunchTemplate
{extra}"""


def cfn_rule(peer: str = "CidrIp: 10.0.0.0/8", protocol: str = "tcp", low: str = "443", high: str = "443") -> str:
    return f"        - {{IpProtocol: {protocol}, FromPort: {low}, ToPort: {high}, {peer}}}"


def cfn_stack(*rules: str, description: str = "nodes", extra: str = "") -> str:
    return CFN_STACK.format(rules="\n".join(rules or (cfn_rule(),)), description=description, extra=extra)


TF_STACK = """\
resource "aws_eks_cluster" "this" {{
  name     = "demo"
  role_arn = "arn:aws:iam::123456789012:role/eks-cluster"
  vpc_config {{
    subnet_ids = ["subnet-1", "subnet-2"]
  }}
}}

resource "aws_security_group" "node" {{
  name   = "node"
  vpc_id = "vpc-0123456789abcdef0"
{blocks}
}}

resource "aws_launch_template" "node" {{
  vpc_security_group_ids = [aws_security_group.node.id]
}}

resource "aws_eks_node_group" "node" {{
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "node"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-1"]
  launch_template {{
    id      = aws_launch_template.node.id
    version = "$Latest"
  }}
  scaling_config {{
    desired_size = 1
    max_size     = 1
    min_size     = 1
  }}
}}
{extra}"""


def tf_ingress(
    peer: str = 'cidr_blocks = ["10.0.0.0/8"]', protocol: str = '"tcp"', low: str = "443", high: str = "443"
) -> str:
    return (
        f"  ingress {{\n    from_port   = {low}\n    to_port     = {high}\n    protocol    = {protocol}\n"
        f"    {peer}\n  }}"
    )


def tf_stack(*blocks: str, extra: str = "") -> str:
    return TF_STACK.format(blocks="\n".join(blocks or (tf_ingress(),)), extra=extra)


def tf_rule_resource(body: str, name: str = "extra") -> str:
    return (
        f'resource "aws_security_group_rule" "{name}" {{\n{body}\n  type              = "ingress"\n'
        "  security_group_id = aws_security_group.node.id\n  from_port         = 22\n  to_port           = 22\n"
        '  protocol          = "tcp"\n  cidr_blocks       = ["10.0.0.0/8"]\n}\n'
    )


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the one line of `text` that contains `needle`."""
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def alias_bomb(levels: int = 9, width: int = 10, key: str = "a") -> list[str]:
    """The billion laughs: each anchor a list of `width` aliases of the previous one."""
    lines = [f"  {key}0: &{key}0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"  {key}{i}: &{key}{i} [" + ", ".join([f"*{key}{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return lines


def locals_billion_laughs(levels: int = 60) -> str:
    lines = ["locals {", "  l0 = [1]", *(f"  l{i + 1} = [local.l{i}, local.l{i}]" for i in range(levels)), "}"]
    return "\n".join(lines) + "\n"


# --- expectations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """Exit 2 with an error naming `file` and `line` ("any": some line; None: no line needed)."""

    file: str
    line: int | str | None = "any"
    says: str = ""


@dataclass(frozen=True)
class Scanned:
    """Read and evaluated: no error; `present` policies found on `file`, `absent` ones not."""

    file: str
    present: frozenset[str] = frozenset()
    absent: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fatal:
    """The whole run is refused (configuration, policies): exit 2, one error line naming `file`."""

    file: str
    says: str = ""


@dataclass(frozen=True)
class Bounded:
    """Only the universal promises: in time, in memory, no traceback, no caught crash."""


Expectation = Refused | Scanned | Fatal | Bounded


# --- Part 1: the real CLI -----------------------------------------------------------------------


@dataclass(frozen=True)
class CliCase:
    id: str
    build: Callable[[Path], list[str]]  # writes the input below the case directory; returns CLI paths/options
    expect: Expectation
    deadline: float = SMALL_DEADLINE
    bug: str | None = None
    secret: str | None = None  # text that must not appear in the output
    companion: bool = True  # scan the clean template too (not for runs refused as a whole)
    requires: Callable[[], bool] = field(default=lambda: True)


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def _yaml_alias_bomb(root: Path) -> list[str]:
    lines = ['AWSTemplateFormatVersion: "2010-09-09"', "Metadata:", *alias_bomb()]
    lines += ["Resources:", "  Group:", "    Type: AWS::EC2::SecurityGroup", "    Properties:", "      Tags: *a9"]
    _write(root / "bomb.yaml", "\n".join(lines) + "\n")
    return ["bomb.yaml"]


def _yaml_shared_anchors(root: Path) -> list[str]:
    lines = ['AWSTemplateFormatVersion: "2010-09-09"', "Metadata:", "  n0: &n0 {leaf: x}"]
    lines += [f"  n{i}: &n{i} {{left: *n{i - 1}, right: *n{i - 1}}}" for i in range(1, 61)]
    lines += ["Resources:", "  Group:", "    Type: AWS::EC2::SecurityGroup", "    Properties:", "      Tags: [*n60]"]
    _write(root / "shared.yaml", "\n".join(lines) + "\n")
    return ["shared.yaml"]


DEPTH = 100_000


def _yaml_nesting(root: Path) -> list[str]:
    _write(root / "deep.yaml", 'AWSTemplateFormatVersion: "2010-09-09"\nResources: ' + "[" * DEPTH + "]" * DEPTH + "\n")
    return ["deep.yaml"]


def _json_nesting(root: Path) -> list[str]:
    body = '{"a": ' * DEPTH + "1" + "}" * DEPTH
    _write(root / "deep.json", '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": ' + body + "}\n")
    return ["deep.json"]


def _hcl_block_nesting(root: Path) -> list[str]:
    _write(root / "deep" / "main.tf", "".join(f"b{i} {{\n" for i in range(DEPTH)) + "}\n" * DEPTH)
    return ["deep"]


HCL_DEEP_CIDR = "(" * DEPTH + '["0.0.0.0/0"]' + ")" * DEPTH


def _hcl_expression_nesting(root: Path) -> list[str]:
    _write(root / "mod" / "main.tf", tf_stack(tf_ingress(peer=f"cidr_blocks = {HCL_DEEP_CIDR}")))
    return ["mod"]


def _tf_json_nesting(root: Path) -> list[str]:
    _write(root / "deep" / "main.tf.json", '{"locals": {"x": ' + "[" * DEPTH + "]" * DEPTH + "}}\n")
    return ["deep"]


def _fifty_megabytes(root: Path) -> str:
    """A valid template (its node group open to 0.0.0.0/0: EKS301) behind 50 MB of Metadata."""
    stack = cfn_stack(cfn_rule(peer="CidrIp: 0.0.0.0/0"))
    header, rest = stack.split("Resources:\n", 1)
    pad = "    - " + "x" * 94 + "\n"
    path = root / "big.yaml"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(header + "Metadata:\n  Padding:\n")
        handle.write(pad * (50 * 1024 * 1024 // len(pad) + 1))
        handle.write("Resources:\n" + rest)
    assert path.stat().st_size > 50 * 1024 * 1024
    return "big.yaml"


def _terraform_over_size(root: Path) -> list[str]:
    padding = 'locals {\n  padding = "' + "x" * 300_000 + '"\n}\n'
    _write(root / "mod" / "main.tf", tf_stack(extra=padding))
    return ["mod", "--max-file-size", "100000"]


def _binary(root: Path) -> list[str]:
    _write(root / "binary.yaml", b"\x89PNG\r\n\x1a\n" + Random(0).randbytes(8192))
    return ["binary.yaml"]


INVALID_UTF8 = cfn_stack(description="nodes \udcff").encode("utf-8", "surrogateescape")


def _invalid_utf8(root: Path) -> list[str]:
    _write(root / "latin.yaml", INVALID_UTF8)
    return ["latin.yaml"]


OPEN_STACK = cfn_stack(cfn_rule(peer="CidrIp: 0.0.0.0/0"))


def _utf16(root: Path) -> list[str]:
    _write(root / "utf16.yaml", codecs.BOM_UTF16_LE + OPEN_STACK.encode("utf-16-le"))
    return ["utf16.yaml"]


def _symlink_loop(root: Path) -> list[str]:
    _write(root / "loop" / "inner" / "stack.yaml", OPEN_STACK)
    (root / "loop" / "inner" / "back").symlink_to("..", target_is_directory=True)
    (root / "loop" / "self").symlink_to(".", target_is_directory=True)
    return ["loop"]


def _dev_zero(root: Path) -> list[str]:
    (root / "zero").mkdir()
    (root / "zero" / "stack.yaml").symlink_to("/dev/zero")
    return ["zero"]


def _nul_character(root: Path) -> list[str]:
    _write(root / "nul.yaml", cfn_stack(description='"nodes\x00"'))
    return ["nul.yaml"]


def _c1_control_json(root: Path) -> list[str]:
    """Valid JSON that CloudFormation deploys (a node group whose group admits all traffic from the
    internet), with a raw U+0086 in a string and every `AWS::` written as `\\u0041WS::`."""
    template = {
        "Description": "nodes\u0086",
        "Resources": {
            "Cluster": {
                "Type": "AWS::EKS::Cluster",
                "Properties": {"Name": "demo", "RoleArn": "arn:aws:iam::1:role/x", "ResourcesVpcConfig": {}},
            },
            "NodeSg": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "n",
                    "SecurityGroupIngress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}],
                },
            },
            "Lt": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {"LaunchTemplateData": {"SecurityGroupIds": [{"Ref": "NodeSg"}]}},
            },
            "Ng": {
                "Type": "AWS::EKS::Nodegroup",
                "Properties": {"ClusterName": {"Ref": "Cluster"}, "LaunchTemplate": {"Id": {"Ref": "Lt"}}},
            },
        },
    }
    text = json.dumps(template, indent=1, ensure_ascii=False).replace('"AWS::', '"\\u0041WS::')
    assert json.loads(text)["Resources"]["NodeSg"]["Type"] == "AWS::EC2::SecurityGroup"
    _write(root / "evade" / "stack.json", text)
    return ["evade"]


HUGE_NUMBER = "1" + "0" * 5000


def _huge_integer(root: Path) -> list[str]:
    _write(root / "huge.yaml", cfn_stack(cfn_rule(low=HUGE_NUMBER, high=HUGE_NUMBER)))
    return ["huge.yaml"]


def _tf_module(text: str) -> Callable[[Path], list[str]]:
    def build(root: Path) -> list[str]:
        _write(root / "mod" / "main.tf", text)
        return ["mod"]

    return build


TF_COUNT_MILLION = tf_stack(extra=tf_rule_resource("  count = 1000000"))
TF_NESTED_FOR = tf_stack(
    tf_ingress(
        peer="cidr_blocks = [length([for i in range(1000) : [for j in range(1000) : [for k in range(1000) : k]]])]"
    )
)
TF_REGEX = tf_stack(tf_ingress(peer='cidr_blocks = [regex("(a+)+$", "' + "a" * 40 + '!")]'))
TF_LOCALS_LAUGHS = tf_stack(
    tf_ingress(peer='cidr_blocks = [local.l60 == local.l60 ? "10.0.0.0/8" : "0.0.0.0/0"]'),
    extra=locals_billion_laughs(),
)
TF_FORMAT_WIDTH = tf_stack(tf_ingress(peer='cidr_blocks = [format("%0999999999d", 1)]'))
TF_DOUBLING = tf_stack(
    tf_ingress(peer="cidr_blocks = [length(local.d30)]"),
    extra="locals {\n  d0 = [1]\n"
    + "".join(f"  d{i + 1} = concat(local.d{i}, local.d{i})\n" for i in range(30))
    + "}\n",
)


def _config_alias_bomb(root: Path) -> list[str]:
    _write(root / "repo" / ".eks-sg-policy.yaml", "\n".join([*(line[2:] for line in alias_bomb()), "skip: *a9"]) + "\n")
    _write(root / "repo" / "stack.yaml", OPEN_STACK)
    return ["repo"]


SECRET = "SECRET_CANARY_7d1e"


def _symlink_outside(root: Path) -> list[str]:
    """A module file that is a link to a file outside the scanned tree (here a stand-in for
    /proc/self/environ or ~/.aws/credentials of the CI runner)."""
    _write(root / "outside" / "environ", f"HOME=/home/runner\x00{SECRET}=ghp_not_a_real_token\x00PATH=/bin\x00")
    (root / "mod").mkdir()
    (root / "mod" / "main.tf").symlink_to(root / "outside" / "environ")
    return ["mod"]


def _symlink_outside_in_child_module(root: Path) -> list[str]:
    """The same link in a local child module: its files are read by the module loader, not by the
    discovery of the scanned tree, and must be refused the same way."""
    outside = root.parent / f"{root.name}-outside"
    _write(outside / "environ", f"HOME=/home/runner\x00{SECRET}=ghp_not_a_real_token\x00PATH=/bin\x00")
    _write(root / "mod" / "main.tf", 'module "child" {\n  source = "../child"\n}\n')
    (root / "child").mkdir()
    (root / "child" / "main.tf").symlink_to(outside / "environ")
    return ["mod"]


CLI_CASES = [
    CliCase("yaml-billion-laughs", _yaml_alias_bomb, Refused("bomb.yaml", 4, "alias")),
    CliCase("yaml-deeply-shared-anchors", _yaml_shared_anchors, Refused("shared.yaml", 4, "alias")),
    CliCase("yaml-nesting-100000", _yaml_nesting, Refused("deep.yaml", 2, "nesting")),
    CliCase("json-nesting-100000", _json_nesting, Refused("deep.json", 1, "nesting")),
    CliCase("tf-json-nesting-100000", _tf_json_nesting, Refused("deep/main.tf.json", 1, "nested")),
    CliCase(
        "hcl-block-nesting-100000",
        _hcl_block_nesting,
        Refused("deep/main.tf", "any"),
        deadline=DEADLINE,
    ),
    CliCase(
        "hcl-expression-nesting-100000",
        _hcl_expression_nesting,
        Refused("mod/main.tf", "any", "nested"),
        deadline=DEADLINE,
    ),
    CliCase(
        "template-50mb-default-refused",
        lambda root: [_fifty_megabytes(root)],
        Refused("big.yaml", None, "--max-file-size"),
        deadline=DEADLINE,
    ),
    CliCase(
        "template-50mb-accepted-when-raised",
        lambda root: [_fifty_megabytes(root), "--max-file-size", "60000000"],
        Scanned("big.yaml", present=frozenset({"EKS301"})),
        deadline=DEADLINE,
        companion=False,
    ),
    CliCase(
        "terraform-file-over-max-file-size",
        _terraform_over_size,
        Refused("mod/main.tf", None, "--max-file-size"),
        deadline=DEADLINE,
    ),
    CliCase("binary-data", _binary, Refused("binary.yaml", "any", "UTF-8")),
    CliCase("invalid-utf8", _invalid_utf8, Refused("latin.yaml", line_of(cfn_stack(), "GroupDescription"), "UTF-8")),
    CliCase("utf16-with-bom", _utf16, Scanned("utf16.yaml", present=frozenset({"EKS301"})), companion=False),
    CliCase("directory-symlink-loop", _symlink_loop, Scanned("loop/inner/stack.yaml", present=frozenset({"EKS301"}))),
    CliCase(
        "symlink-to-dev-zero",
        _dev_zero,
        Refused("zero/stack.yaml", None),
        requires=lambda: os.path.exists("/dev/zero"),
    ),
    CliCase(
        "nul-character",
        _nul_character,
        Refused("nul.yaml", "any"),
    ),
    CliCase(
        "c1-control-character-hides-a-template",
        _c1_control_json,
        Refused("evade/stack.json", "any"),
    ),
    CliCase(
        "huge-integer-port",
        _huge_integer,
        Refused("huge.yaml", "any", "FromPort"),
    ),
    CliCase(
        "tf-count-one-million",
        _tf_module(TF_COUNT_MILLION),
        Bounded(),
    ),
    CliCase(
        "tf-nested-for-a-billion-elements",
        _tf_module(TF_NESTED_FOR),
        Bounded(),
    ),
    CliCase(
        "tf-regex-catastrophic-backtracking",
        _tf_module(TF_REGEX),
        Bounded(),
    ),
    CliCase(
        "tf-locals-billion-laughs",
        _tf_module(TF_LOCALS_LAUGHS),
        Bounded(),
    ),
    CliCase(
        "tf-format-width",
        _tf_module(TF_FORMAT_WIDTH),
        Bounded(),
    ),
    CliCase(
        "tf-locals-doubling",
        _tf_module(TF_DOUBLING),
        Bounded(),
    ),
    CliCase(
        "config-alias-bomb",
        _config_alias_bomb,
        Fatal("repo/.eks-sg-policy.yaml"),
        companion=False,
    ),
    CliCase(
        "symlink-out-of-the-tree-leaks-content",
        _symlink_outside,
        Refused("mod/main.tf", None),
        secret=SECRET,
    ),
    CliCase(
        "symlink-out-of-the-tree-in-a-child-module",
        _symlink_outside_in_child_module,
        Refused("child/main.tf", None, "outside"),
        secret=SECRET,
    ),
]


def _selected(request: pytest.FixtureRequest) -> set[str]:
    wanted: set[str] = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and getattr(item, "module", None) is request.module and "case" in callspec.params:
            wanted.add(callspec.params["case"].id)
    return wanted


@pytest.fixture(scope="module")
def cli_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliRun]:
    """Every selected CLI case, run two at a time before the first of them is judged."""
    wanted = _selected(request)
    plans = []
    ids = []
    roots = []
    for case in CLI_CASES:
        if case.id not in wanted or not case.requires():
            continue
        root = tmp_path_factory.mktemp(case.id)
        roots.append(root)
        args = case.build(root)
        if case.companion:
            _write(root / CLEAN, CLEAN_SOURCE.read_text(encoding="utf-8"))
            args = [CLEAN, *args]  # before the case's options: argparse takes no paths after them
        command = ["check", *args, "--format", "json", "--fail-on", "never"]
        plans.append((command, root, case.deadline, subprocess_env()))
        ids.append(case.id)
    # Longest first (large inputs, then everything else), so that two runs keep both cores busy.
    order = sorted(range(len(plans)), key=lambda i: -plans[i][2])
    runs = run_many([plans[i] for i in order])
    for root in roots:  # the inputs are not needed for judging, and two of them are 50 MB
        shutil.rmtree(root, ignore_errors=True)
    return {ids[i]: run for i, run in zip(order, runs, strict=True)}


def _case_params() -> Iterator[object]:
    for case in CLI_CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", list(_case_params()))
def test_cli_on_hostile_input(
    case: CliCase, cli_runs: dict[str, CliRun], record_property: Callable[[str, object], None]
) -> None:
    if not case.requires():
        pytest.skip("not available on this platform")
    run = cli_runs[case.id]
    record_property("seconds", round(run.seconds, 2))
    record_property("peak_rss_mib", round(run.peak_rss_mib))
    assert not run.timed_out, f"still running after {case.deadline:g} s: {run.describe()}"
    assert "Traceback" not in run.stderr, run.describe()
    assert "internal error" not in run.stderr and "MemoryError" not in run.stderr, run.describe()
    assert run.peak_rss_mib < MAX_RSS_MIB, run.describe()
    if case.secret is not None:
        assert case.secret not in run.stdout + run.stderr, "file content from outside the tree in the output"
    expect = case.expect
    if isinstance(expect, Fatal):
        assert run.returncode == 2, run.describe()
        lines = run.error_lines()
        assert len(lines) == 1 and expect.file in lines[0], run.describe()  # a discovered config is shown absolute
        assert expect.says in lines[0], run.describe()
        return
    report = run.report()
    if isinstance(expect, Refused):
        assert run.returncode == 2, f"something could not be read, yet: {run.describe()}"
        _assert_refused(report, run.error_lines(), expect)
        if case.companion:
            assert any(f["file"] == CLEAN for f in report["findings"]), "the clean template was not scanned"
    elif isinstance(expect, Scanned):
        assert run.returncode == 0 and not report["errors"], run.describe()
        found = {f["policy"] for f in report["findings"] if f["file"] == expect.file}
        assert expect.present <= found and not (expect.absent & found), found


def _assert_refused(report: dict[str, object], stderr_lines: list[str], expect: Refused) -> None:
    errors = report["errors"]
    assert isinstance(errors, list)
    mine = [e for e in errors if e["file"] == expect.file]
    assert mine, f"no error for {expect.file}: {errors}"
    error = mine[0]
    assert "\n" not in error["message"], f"a multi-line error: {error['message']!r}"
    if expect.line == "any":
        assert isinstance(error["line"], int) and error["line"] >= 1, f"no line: {error}"
    elif expect.line is not None:
        assert error["line"] == expect.line, error
    assert expect.says in error["message"], error
    # One line of stderr per error, each naming the file (and line).
    assert len(stderr_lines) == len(errors), stderr_lines
    where = expect.file if error["line"] is None else f"{expect.file}:{error['line']}"
    assert any(line.startswith(f"{ERROR_PREFIX}{where}") for line in stderr_lines), stderr_lines


# --- Part 2: scan() in-process ------------------------------------------------------------------


@dataclass(frozen=True)
class ScanCase:
    id: str
    files: dict[str, str | bytes]
    expect: Refused | Scanned
    paths: tuple[str, ...] = ()  # default: the first file (its directory for .tf)
    strict: bool = False
    bug: str | None = None


def _cfn(case_id: str, text: str, expect: Refused | Scanned, bug: str | None = None) -> ScanCase:
    return ScanCase(case_id, {"stack.yaml": text}, expect, bug=bug)


def _cfn_refused(case_id: str, text: str, needle: str, says: str, bug: str | None = None) -> ScanCase:
    return _cfn(case_id, text, Refused("stack.yaml", line_of(text, needle), says), bug)


def _tf(case_id: str, text: str, expect: Refused | Scanned, bug: str | None = None) -> ScanCase:
    return ScanCase(case_id, {"mod/main.tf": text}, expect, paths=("mod",), bug=bug)


def _tf_refused(case_id: str, text: str, needle: str, says: str, bug: str | None = None) -> ScanCase:
    return _tf(case_id, text, Refused("mod/main.tf", line_of(text, needle), says), bug)


HEADER = 'AWSTemplateFormatVersion: "2010-09-09"\n'
NODE_301 = frozenset({"EKS301"})
CYCLE = HEADER + (
    "Resources:\n"
    "  A:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: a\n      VpcId: vpc-1\n"
    "      SecurityGroupIngress:\n"
    "        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, SourceSecurityGroupId: !Ref B}\n"
    "  B:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: b\n      VpcId: vpc-1\n"
    "      SecurityGroupIngress:\n"
    "        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, SourceSecurityGroupId: !GetAtt A.GroupId}\n"
)
DUPLICATE_YAML = HEADER + "Resources:\n  Group:\n    Type: AWS::EC2::SecurityGroup\n  Group:\n    Type: AWS::EC2::VPC\n"
DUPLICATE_JSON = (
    '{\n "AWSTemplateFormatVersion": "2010-09-09",\n "Resources": {\n'
    '  "Group": {"Type": "AWS::EC2::SecurityGroup"},\n  "Group": {"Type": "AWS::EC2::VPC"}\n }\n}\n'
)
TF_JSON_DUPLICATE = (
    '{\n "resource": {\n  "aws_security_group": {\n   "node": {\n'
    '    "name": "node",\n    "name": "other"\n   }\n  }\n }\n}\n'
)
TF_JSON_HUGE = (
    '{\n "resource": {\n  "aws_security_group": {\n   "node": {\n    "name": "node",\n    "ingress": [{\n'
    f'     "from_port": {HUGE_NUMBER},\n     "to_port": {HUGE_NUMBER},\n     "protocol": "tcp",\n'
    '     "cidr_blocks": ["10.0.0.0/8"]\n    }]\n   }\n  }\n }\n}\n'
)
TFPLAN_HUGE = (  # a plan of a rule on 443 whose ports are 10**5000 instead
    TFPLAN_SOURCE.read_text(encoding="utf-8")
    .replace('"from_port": 443', f'"from_port": {HUGE_NUMBER}', 1)
    .replace('"to_port": 443', f'"to_port": {HUGE_NUMBER}', 1)
)
TF_DYNAMIC_VARIABLE = (
    'variable "rules" {\n  type = list(object({ port = number, cidr = string }))\n}\n\n'
    'resource "aws_security_group" "node" {\n  name = "node"\n  dynamic "ingress" {\n'
    "    for_each = var.rules\n    content {\n      from_port   = ingress.value.port\n"
    '      to_port     = ingress.value.port\n      protocol    = "tcp"\n'
    "      cidr_blocks = [ingress.value.cidr]\n    }\n  }\n}\n"
)
TF_DYNAMIC_NUMBER = tf_stack(
    '  dynamic "ingress" {\n    for_each = 5\n    content {\n      from_port   = 443\n      to_port     = 443\n'
    '      protocol    = "tcp"\n      cidr_blocks = ["0.0.0.0/0"]\n    }\n  }'
)
TF_COUNT_NEGATIVE = tf_stack(extra=tf_rule_resource("  count = -1"))
TF_FOR_EACH_NUMBER = tf_stack(extra=tf_rule_resource("  for_each = 5"))
TF_FOR_EACH_STRING = tf_stack(extra=tf_rule_resource('  for_each = "abc"'))
TF_LOCALS_CYCLE = tf_stack(
    tf_ingress(peer="cidr_blocks = local.a"), extra="locals {\n  a = local.b\n  b = concat(local.a, [])\n}\n"
)
TF_DUPLICATE_ATTRIBUTE = tf_stack(extra='resource "aws_security_group" "other" {\n  name = "a"\n  name = "b"\n}\n')
PYTHON_TAG = HEADER + "Resources: !!python/object/apply:os.mkdir [{canary}]\n"

SCAN_CASES = [
    # wrong types, CloudFormation
    _cfn_refused("cfn-fromport-abc", cfn_stack(cfn_rule(low='"abc"')), "FromPort", "port must be a number"),
    _cfn_refused("cfn-fromport-70000", cfn_stack(cfn_rule(low="70000", high="70000")), "FromPort", "out of range"),
    _cfn_refused("cfn-fromport-above-toport", cfn_stack(cfn_rule(low="500", high="400")), "FromPort", "greater"),
    _cfn_refused("cfn-fromport-null", cfn_stack(cfn_rule(low="null")), "FromPort", "FromPort"),
    _cfn_refused("cfn-fromport-boolean", cfn_stack(cfn_rule(low="true")), "FromPort", "port must be a number"),
    _cfn_refused("cfn-fromport-list", cfn_stack(cfn_rule(low="[1, 2]")), "FromPort", "port must be a number"),
    _cfn_refused("cfn-protocol-list", cfn_stack(cfn_rule(protocol="[tcp]")), "FromPort", "protocol"),
    _cfn_refused("cfn-protocol-boolean", cfn_stack(cfn_rule(protocol="true")), "FromPort", "protocol"),
    _cfn_refused("cfn-rule-list-not-map", cfn_stack("        - [tcp, 443]"), "[tcp, 443]", "must be a mapping"),
    _cfn_refused(
        "cfn-ingress-map-not-list",
        cfn_stack().replace("Ingress:\n", "Ingress: {IpProtocol: tcp}\n#"),
        "Ingress",
        "list",
    ),
    _cfn_refused(
        "cfn-properties-list",
        cfn_stack(extra="  Other:\n    Type: AWS::EC2::SecurityGroup\n    Properties: [a]\n"),
        "Properties: [a]",
        "Properties must be a mapping",
    ),
    _cfn_refused("cfn-resources-list", HEADER + "Resources: [a, b]\n", "Resources", "Resources must be a mapping"),
    _cfn_refused("cfn-resources-null", HEADER + "Resources:\n", "Resources", "Resources must be a mapping"),
    _cfn_refused("cfn-resource-null", HEADER + "Resources:\n  Group:\n", "Group", "a resource must be a mapping"),
    _cfn_refused("cfn-tags-string", cfn_stack(description="n\n      Tags: hello"), "Tags", "Tags must be a list"),
    _cfn_refused(
        "cfn-vpc-config-list",
        cfn_stack().replace(
            "      ResourcesVpcConfig:\n        SubnetIds: [subnet-1, subnet-2]", "      ResourcesVpcConfig: [1]"
        ),
        "ResourcesVpcConfig",
        "must be a mapping",
    ),
    _cfn_refused(
        "cfn-launch-template-list",
        cfn_stack().replace("      LaunchTemplate:\n        Id: !Ref NodeLaunchTemplate", "      LaunchTemplate: [1]"),
        "LaunchTemplate: [1]",
        "must be a mapping",
    ),
    # references, functions, cycles
    _cfn_refused("cfn-ref-missing", cfn_stack(cfn_rule(peer="SourceSecurityGroupId: !Ref Nope")), "Nope", "undefined"),
    _cfn_refused(
        "cfn-getatt-missing",
        cfn_stack(cfn_rule(peer="SourceSecurityGroupId: !GetAtt Nope.GroupId")),
        "Nope",
        "undefined",
    ),
    _cfn_refused(
        "cfn-condition-cycle",
        HEADER
        + "Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\n"
        + cfn_stack(extra="  Extra:\n    Type: AWS::EC2::SecurityGroup\n    Condition: A\n").removeprefix(HEADER),
        "B: !Not",
        "conditions refer to each other",
    ),
    _cfn(
        "cfn-ref-getatt-cycle",
        CYCLE,
        Refused("stack.yaml", line_of(CYCLE, "  A:"), "circular dependency between resources: A -> B -> A"),
    ),
    # duplicate keys (CloudFormation rejects them)
    _cfn("cfn-duplicate-key-yaml", DUPLICATE_YAML, Refused("stack.yaml", 5, "first at line 3")),
    ScanCase("cfn-duplicate-key-json", {"stack.json": DUPLICATE_JSON}, Refused("stack.json", 5, "first at line 4")),
    # CIDR tricks
    _cfn_refused("cfn-cidr-invalid", cfn_stack(cfn_rule(peer="CidrIp: 999.1.1.1/8")), "999.1.1.1", "invalid CIDR"),
    _cfn_refused("cfn-cidr-no-prefix", cfn_stack(cfn_rule(peer="CidrIp: 10.0.0.1")), "10.0.0.1", "prefix"),
    _cfn_refused("cfn-cidr-list", cfn_stack(cfn_rule(peer="CidrIp: [0.0.0.0/0]")), "CidrIp", "CIDR must be a string"),
    _cfn_refused(
        "cfn-select-huge-index",
        cfn_stack(cfn_rule(peer=f'CidrIp: !Select ["{HUGE_NUMBER}", [10.0.0.0/8]]')),
        "CidrIp",
        "index is out of range",
    ),
    _cfn_refused(
        "cfn-cidr-function-huge-count",
        cfn_stack(cfn_rule(peer=f'CidrIp: !Select [0, !Cidr [10.0.0.0/8, "{HUGE_NUMBER}", 8]]')),
        "CidrIp",
        "small whole numbers",
    ),
    _cfn("cfn-cidr-1.0.0.0/0", cfn_stack(cfn_rule(peer="CidrIp: 1.0.0.0/0")), Scanned("stack.yaml", NODE_301)),
    _cfn(
        "cfn-cidr-two-halves",
        cfn_stack(cfn_rule(peer="CidrIp: 0.0.0.0/1"), cfn_rule(peer="CidrIp: 128.0.0.0/1")),
        Scanned("stack.yaml", NODE_301),
    ),
    _cfn(
        "cfn-cidr-two-halves-overlapping-ports",
        cfn_stack(
            cfn_rule(peer="CidrIp: 0.0.0.0/1", low="400", high="500"),
            cfn_rule(peer="CidrIp: 128.0.0.0/1", low="450", high="600"),
        ),
        Scanned("stack.yaml", NODE_301),
    ),
    _cfn(
        "cfn-cidr-two-halves-all-protocols-and-tcp",
        cfn_stack(cfn_rule(peer="CidrIp: 0.0.0.0/1", protocol='"-1"'), cfn_rule(peer="CidrIp: 128.0.0.0/1")),
        Scanned("stack.yaml", NODE_301),
    ),
    _cfn(
        "cfn-cidr-ipv4-mapped-ipv6-is-not-the-internet",
        cfn_stack(cfn_rule(peer='CidrIpv6: "::ffff:0:0/96"')),
        Scanned("stack.yaml", absent=NODE_301),
    ),
    _cfn(
        "cfn-cidr-ipv6-whole-internet",
        cfn_stack(cfn_rule(peer='CidrIpv6: "::/0"')),
        Scanned("stack.yaml", NODE_301),
    ),
    # wrong types, Terraform
    _tf_refused("tf-from-port-abc", tf_stack(tf_ingress(low='"abc"')), "from_port", "port must be a number"),
    _tf_refused("tf-from-port-70000", tf_stack(tf_ingress(low="70000", high="70000")), "from_port", "out of range"),
    _tf_refused("tf-from-port-above-to-port", tf_stack(tf_ingress(low="500", high="400")), "from_port", "greater"),
    _tf_refused("tf-from-port-null", tf_stack(tf_ingress(low="null")), "from_port", "port must be a number"),
    _tf_refused("tf-protocol-boolean", tf_stack(tf_ingress(protocol="true")), "protocol    =", "protocol"),
    _tf_refused(
        "tf-cidr-number", tf_stack(tf_ingress(peer="cidr_blocks = [5]")), "cidr_blocks", "CIDR must be a string"
    ),
    _tf_refused("tf-cidr-invalid", tf_stack(tf_ingress(peer='cidr_blocks = ["10.0.0.0/33"]')), "cidr_blocks", "CIDR"),
    _tf(
        "tf-cidr-null-is-a-rule-without-peer",
        tf_stack(tf_ingress(peer="cidr_blocks = null")),
        Scanned("mod/main.tf", frozenset({"EKS306"})),
    ),
    _tf_refused("tf-locals-cycle", TF_LOCALS_CYCLE, "a = local.b", "cycle"),
    _tf_refused("tf-count-negative", TF_COUNT_NEGATIVE, "count = -1", "count"),
    _tf_refused("tf-for-each-number", TF_FOR_EACH_NUMBER, "for_each = 5", "for_each"),
    _tf_refused("tf-for-each-string", TF_FOR_EACH_STRING, 'for_each = "abc"', "for_each"),
    _tf(
        "tf-dynamic-for-each-number",
        TF_DYNAMIC_NUMBER,
        Refused("mod/main.tf", line_of(TF_DYNAMIC_NUMBER, "for_each = 5"), "must be a collection, not 5"),
    ),
    _tf(
        "tf-dynamic-block-over-unset-variable",
        TF_DYNAMIC_VARIABLE,
        Scanned("mod/main.tf", absent=frozenset({"EKS305"})),
    ),
    _tf_refused("tf-duplicate-attribute", TF_DUPLICATE_ATTRIBUTE, 'name = "b"', "set twice"),
    ScanCase(
        "tf-json-duplicate-attribute",
        {"mod/main.tf.json": TF_JSON_DUPLICATE},
        Refused("mod/main.tf.json", 6, "attribute 'name' is set twice (first at line 5)"),
        paths=("mod",),
    ),
    _tf(
        "tf-cidr-1.0.0.0/0", tf_stack(tf_ingress(peer='cidr_blocks = ["1.0.0.0/0"]')), Scanned("mod/main.tf", NODE_301)
    ),
    _tf(
        "tf-cidr-two-halves",
        tf_stack(tf_ingress(peer='cidr_blocks = ["0.0.0.0/1", "128.0.0.0/1"]')),
        Scanned("mod/main.tf", NODE_301),
    ),
    _tf(
        "tf-cidr-ipv4-mapped-ipv6-is-not-the-internet",
        tf_stack(tf_ingress(peer='ipv6_cidr_blocks = ["::ffff:0:0/96"]')),
        Scanned("mod/main.tf", absent=NODE_301),
    ),
    _tf(
        "tf-huge-integer",
        tf_stack(tf_ingress(low=HUGE_NUMBER, high=HUGE_NUMBER)),
        Refused("mod/main.tf", "any", "port"),
    ),
    ScanCase(
        "tf-json-huge-integer",
        {"mod/main.tf.json": TF_JSON_HUGE},
        Refused("mod/main.tf.json", line_of(TF_JSON_HUGE, '"from_port"'), "port out of range"),
        paths=("mod",),
    ),
    ScanCase(
        "tfplan-huge-integer",
        {"plan.json": TFPLAN_HUGE},
        Refused("plan.json", line_of(TFPLAN_HUGE, f'"from_port": {HUGE_NUMBER}'), "port out of range"),
    ),
    ScanCase(
        "tf-invalid-utf8",
        {"mod/main.tf": tf_stack().replace('"node"', '"n\udcffode"', 1).encode("utf-8", "surrogateescape")},
        Refused("mod/main.tf", "any", "UTF-8"),
        paths=("mod",),
    ),
    ScanCase(
        "tf-utf16-is-refused",
        {"mod/main.tf": codecs.BOM_UTF16_LE + tf_stack().encode("utf-16-le")},
        Refused("mod/main.tf", None),
        paths=("mod",),
    ),
]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / CLEAN, CLEAN_SOURCE.read_text(encoding="utf-8"))
    return tmp_path


def _scan(paths: list[str], strict: bool = False) -> Report:
    with memory_cap(), time_limit(DEADLINE):
        return scan(paths, ScanOptions(strict=strict))


def _scan_params() -> Iterator[object]:
    for case in SCAN_CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", list(_scan_params()))
def test_scan_on_hostile_input(case: ScanCase, in_tmp: Path) -> None:
    for name, data in case.files.items():
        _write(in_tmp / name, data)
    paths = list(case.paths or (next(iter(case.files)),))
    expect = case.expect
    report = _scan([*paths, CLEAN] if isinstance(expect, Refused) else paths, case.strict)
    if isinstance(expect, Refused):
        mine = [e for e in report.errors if e.file == expect.file]
        assert mine, f"no error for {expect.file}; errors {[str(e) for e in report.errors]}; findings " + str(
            sorted({(f.policy, f.status) for f in report.findings})
        )
        error = mine[0]
        assert "\n" not in str(error), repr(str(error))
        if expect.line == "any":
            assert error.line is not None and error.line >= 1, str(error)
        elif expect.line is not None:
            assert error.line == expect.line, str(error)
        assert expect.says in error.message, str(error)
        assert report.exit_code("never") == 2, "fail closed: a file could not be read"
        assert any(f.file == CLEAN for f in report.findings), "the clean template next to it was not scanned"
    else:
        assert not report.errors, [str(e) for e in report.errors]
        found = {f.policy for f in report.findings if f.file == expect.file}
        assert expect.present <= found, f"missing {sorted(expect.present - found)}; found {sorted(found)}"
        assert not (expect.absent & found), f"unexpected {sorted(expect.absent & found)}"


# --- Part 2b: cases that need more than a table row ---------------------------------------------


def test_unknown_intrinsic_is_unverified_with_its_line_and_never_a_silent_pass(in_tmp: Path) -> None:
    text = cfn_stack(cfn_rule(peer="CidrIp: !Bogus 0.0.0.0/0"))
    _write(in_tmp / "stack.yaml", text)
    report = _scan(["stack.yaml"])
    assert not report.errors
    unverified = [f for f in report.findings if f.policy == "EKS900" and "Fn::Bogus" in f.message]
    assert unverified and all(f.line == line_of(text, "!Bogus") for f in unverified), unverified
    assert _scan(["stack.yaml"], strict=True).exit_code() == 1, "--strict: an unverified requirement fails the run"


def test_utf16_templates_read_exactly_like_utf8(in_tmp: Path) -> None:
    _write(in_tmp / "utf8.yaml", OPEN_STACK)
    _write(in_tmp / "le.yaml", codecs.BOM_UTF16_LE + OPEN_STACK.encode("utf-16-le"))
    _write(in_tmp / "be.yaml", codecs.BOM_UTF16_BE + OPEN_STACK.encode("utf-16-be"))
    _write(in_tmp / "sig.yaml", codecs.BOM_UTF8 + OPEN_STACK.encode("utf-8"))
    seen = {}
    for name in ("utf8.yaml", "le.yaml", "be.yaml", "sig.yaml"):
        report = _scan([name])
        assert not report.errors, [str(e) for e in report.errors]
        seen[name] = sorted((f.policy, f.status, f.line, f.message) for f in report.findings)
    assert seen["utf8.yaml"] and all(found == seen["utf8.yaml"] for found in seen.values())


def test_an_empty_file_is_skipped_and_said_so(in_tmp: Path) -> None:
    _write(in_tmp / "empty.yaml", b"")
    report = _scan(["empty.yaml"])
    assert not report.errors and not report.findings and report.files == ()
    assert any(note.startswith("empty.yaml") and "skipped" in note for note in report.notes), report.notes


def test_a_symlink_loop_of_files_is_an_error_not_a_hang(in_tmp: Path) -> None:
    (in_tmp / "links").mkdir()
    (in_tmp / "links" / "a.yaml").symlink_to("b.yaml")
    (in_tmp / "links" / "b.yaml").symlink_to("a.yaml")
    report = _scan(["links", "links/a.yaml"])
    assert {e.file for e in report.errors} == {"links/a.yaml", "links/b.yaml"}, [str(e) for e in report.errors]
    assert report.exit_code("never") == 2


def test_yaml_python_tags_are_refused_and_never_run(in_tmp: Path) -> None:
    canary = in_tmp / "created-by-the-template"
    text = PYTHON_TAG.format(canary=json.dumps(str(canary)))
    _write(in_tmp / "stack.yaml", text)
    report = _scan(["stack.yaml"])
    assert [e.line for e in report.errors if e.file == "stack.yaml"] == [2], [str(e) for e in report.errors]
    assert not canary.exists()


# --- Part 3: fail closed, as the user runs it ---------------------------------------------------


def test_fail_on_never_in_the_configuration_still_exits_2_on_a_broken_file(tmp_path: Path) -> None:
    _write(tmp_path / ".eks-sg-policy.yaml", "fail-on: never\n")
    _write(tmp_path / "broken.yaml", HEADER + "Resources:\n\tGroup: 1\n")  # a tab: line 3
    _write(tmp_path / "clean.yaml", CLEAN_SOURCE.read_text(encoding="utf-8"))
    text_run, never_run = run_many(
        [
            (["check", "broken.yaml", "clean.yaml"], tmp_path, SMALL_DEADLINE, subprocess_env()),
            (["check", ".", "--fail-on", "never", "-f", "sarif"], tmp_path, SMALL_DEADLINE, subprocess_env()),
        ]
    )
    for run in (text_run, never_run):
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.describe()
    assert "broken.yaml:3:" in text_run.stdout, "the text report names the file and line"
    assert "EKS301" in text_run.stdout, "the clean template was still scanned"
    assert len(never_run.error_lines()) == 1 and never_run.error_lines()[0].startswith(f"{ERROR_PREFIX}broken.yaml:3")
