"""The CI output formats (sarif, junit, github, markdown), on Reports built by hand."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from eks_sg_policy.api import Report
from eks_sg_policy.errors import ScanError
from eks_sg_policy.findings import Finding
from eks_sg_policy.policies import DocRef, load_policies
from eks_sg_policy.report import FORMATS
from eks_sg_policy.report.github import render_github
from eks_sg_policy.report.junit import render_junit
from eks_sg_policy.report.markdown import cell, render_markdown
from eks_sg_policy.report.sarif import render_sarif

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))
URL = "https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html"
NODE_ROW = DocRef("Node security group", "Minimum inbound traffic (from control plane)", "2020", URL)
CLUSTER_ROW = DocRef("Cluster security group", "Outbound", "current", URL)
VERIFY_ROW = DocRef("Verification", "A requirement could not be decided", "any", URL)


def finding(policy: str = "EKS102", severity: str = "error", line: int = 12, **changes: Any) -> Finding:
    values: dict[str, Any] = {
        "status": "violated",
        "message": "NodeSecurityGroup does not admit TCP 10250 from the control plane",
        "file": "cfn/eks.yaml",
        "resource": "NodeSecurityGroup",
        "doc": NODE_ROW,
        "cluster": "Cluster",
        "node_group": "NodeGroup",
        "peer": "ControlPlaneSecurityGroup",
        "fix": "add an ingress rule: tcp 10250 from ControlPlaneSecurityGroup",
    }
    values.update(changes)
    return Finding(policy=policy, severity=severity, line=line, **values)


UNVERIFIED = finding(
    "EKS900",
    "note",
    3,
    status="unverified",
    message="cannot decide EKS102: ControlPlaneSecurityGroup is the parameter ControlSG, which has no value",
    doc=VERIFY_ROW,
    fix="pass --param ControlSG=sg-...",
    blocks="EKS102",
    node_group=None,
)
WARNING = finding("EKS105", "warning", 20, message="ports 1025-65535 closed", doc=CLUSTER_ROW, fix=None)


def report(
    findings: tuple[Finding, ...] = (),
    errors: tuple[ScanError, ...] = (),
    files: tuple[str, ...] = ("cfn/eks.yaml",),
    suppressed: tuple[Finding, ...] = (),
) -> Report:
    return Report("0.1.0", files, findings, suppressed, errors, ("other.yaml: not IaC, skipped",), 1, 1)


FULL = report(
    findings=(finding(), WARNING, UNVERIFIED),
    errors=(ScanError("cfn/broken.yaml", "invalid YAML: mapping values are not allowed here", 7, 3),),
    files=("cfn/eks.yaml", "cfn/clean.yaml"),
    suppressed=(finding("EKS301", "warning", 40, suppressed="public NLB, reviewed"),),
)


def test_every_ci_format_is_registered() -> None:
    assert {"sarif", "junit", "github", "markdown"} <= set(FORMATS)


# --- SARIF ---------------------------------------------------------------------------------------


def sarif(rep: Report, verbose: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_sarif(rep, verbose))
    return data


def schema_errors(log: dict[str, Any]) -> list[str]:
    return [error.message for error in jsonschema.Draft7Validator(SCHEMA).iter_errors(log)]


@pytest.mark.parametrize("verbose", [False, True])
def test_sarif_is_valid_against_the_official_schema(verbose: bool) -> None:
    assert schema_errors(sarif(FULL, verbose)) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("results", 0, "level"), "warn"),
        (("results", 0, "locations", 0, "physicalLocation", "region", "startLine"), 0),
        (("results", 0, "message"), {"markdown": "no text"}),
        (("tool", "driver", "rules", 0, "defaultConfiguration", "level"), "fatal"),
    ],
)
def test_the_schema_rejects_a_broken_sarif_log(path: tuple[Any, ...], value: Any) -> None:
    log = copy.deepcopy(sarif(FULL))
    target = log["runs"][0]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    assert schema_errors(log)


def test_sarif_meets_github_code_scanning_requirements() -> None:
    log = sarif(FULL, verbose=True)
    assert log["version"] == "2.1.0"
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    assert set(ids) >= {p.id for p in load_policies().policies}
    for rule in rules:
        assert isinstance(rule["properties"]["security-severity"], str)
        assert float(rule["properties"]["security-severity"]) > 0
        assert "security" in rule["properties"]["tags"]
        assert rule["helpUri"].startswith("https://")
    assert len(run["results"]) == 4  # three findings and the suppressed one (verbose)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["region"]["startLine"] >= 1
        uri = location["artifactLocation"]["uri"]
        assert not uri.startswith("/") and ":" not in uri and "\\" not in uri
        assert re.fullmatch(r"[0-9a-f]{32}:\d+", result["partialFingerprints"]["primaryLocationLineHash"])
    assert run["automationDetails"]["id"] == "eks-sg-policy/"


def test_sarif_rule_carries_title_why_and_doc_rows() -> None:
    policy = next(p for p in load_policies().policies if p.id == "EKS102")
    rule = next(r for r in sarif(report())["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "EKS102")
    assert rule["shortDescription"]["text"] == policy.title
    assert policy.why in rule["fullDescription"]["text"]
    for row in policy.rows:
        assert row.row in rule["fullDescription"]["text"]
        assert f"[{row.table}: {row.row}]({row.url})" in rule["help"]["markdown"]
    assert rule["helpUri"] == policy.doc.url
    assert rule["defaultConfiguration"]["level"] == "error"
    assert rule["properties"]["security-severity"] == "8.0"


def test_sarif_result_carries_message_level_and_properties() -> None:
    results = sarif(FULL)["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    assert [r["ruleId"] for r in results] == ["EKS900", "EKS102", "EKS105"]  # sorted by file, line
    error = by_rule["EKS102"]
    assert error["level"] == "error"
    assert error["message"]["text"] == (
        "NodeSecurityGroup does not admit TCP 10250 from the control plane. "
        "Fix: add an ingress rule: tcp 10250 from ControlPlaneSecurityGroup"
    )
    assert error["properties"] == {
        "status": "violated",
        "resource": "NodeSecurityGroup",
        "cluster": "Cluster",
        "node_group": "NodeGroup",
        "doc": NODE_ROW.as_dict(),
    }
    assert by_rule["EKS900"]["message"]["text"].startswith("Unverified: cannot decide EKS102")
    assert by_rule["EKS900"]["properties"]["blocks"] == "EKS102"
    assert by_rule["EKS105"]["level"] == "warning"
    assert "suppressions" not in error


def test_sarif_fingerprint_survives_line_moves_and_separates_duplicates() -> None:
    moved = sarif(report((finding(line=99),)))["runs"][0]["results"][0]
    original = sarif(report((finding(),)))["runs"][0]["results"][0]
    assert moved["partialFingerprints"] == original["partialFingerprints"]
    assert moved["partialFingerprints"]["primaryLocationLineHash"] == finding().fingerprint() + ":1"
    twice = sarif(report((finding(), finding(line=30))))["runs"][0]["results"]
    assert [r["partialFingerprints"]["primaryLocationLineHash"][-2:] for r in twice] == [":1", ":2"]


def test_sarif_makes_absolute_paths_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inside = str(tmp_path / "infra" / "eks stack.yaml")
    result = sarif(report((finding(file=inside),)))["runs"][0]["results"][0]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "infra/eks%20stack.yaml", "uriBaseId": "%SRCROOT%"}
    outside = str(tmp_path.parent / "elsewhere.yaml")
    result = sarif(report((finding(file=outside),)))["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": Path(outside).as_uri()}


def test_sarif_invocation_reports_unreadable_files() -> None:
    invocation = sarif(FULL)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error"
    assert notification["message"]["text"] == "cfn/broken.yaml: invalid YAML: mapping values are not allowed here"
    assert notification["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "cfn/broken.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 7, "startColumn": 3},
    }
    assert sarif(report())["runs"][0]["invocations"][0] == {"executionSuccessful": True}


def test_sarif_marks_suppressed_findings_only_when_verbose() -> None:
    assert all("suppressions" not in r for r in sarif(FULL)["runs"][0]["results"])
    suppressed = [r for r in sarif(FULL, verbose=True)["runs"][0]["results"] if "suppressions" in r]
    assert [(r["ruleId"], r["suppressions"]) for r in suppressed] == [
        ("EKS301", [{"kind": "inSource", "justification": "public NLB, reviewed"}])
    ]


def test_sarif_adds_a_rule_for_a_policy_outside_the_catalog() -> None:
    custom = finding("ACME001", "warning", doc=DocRef("Acme rules", "No SSH", "any", "https://example.invalid/acme"))
    run = sarif(report((custom,)))["runs"][0]
    rule = run["tool"]["driver"]["rules"][run["results"][0]["ruleIndex"]]
    assert (rule["id"], rule["helpUri"], rule["properties"]["security-severity"]) == (
        "ACME001",
        "https://example.invalid/acme",
        "5.0",
    )
    assert schema_errors(sarif(report((custom,)))) == []


def test_sarif_output_does_not_depend_on_finding_order() -> None:
    reordered = report(tuple(reversed(FULL.findings)), FULL.errors, FULL.files, FULL.suppressed)
    assert render_sarif(reordered) == render_sarif(FULL)


# --- JUnit ---------------------------------------------------------------------------------------


def test_junit_counts_and_test_cases() -> None:
    root = ET.fromstring(render_junit(FULL))
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "eks-sg-policy"
    expected = {"tests": "5", "failures": "2", "errors": "1", "skipped": "1"}
    assert {k: suite.get(k) for k in expected} == expected
    assert {k: root.get(k) for k in expected} == expected
    cases = {(c.get("classname"), c.get("name")): c for c in suite.findall("testcase")}
    assert list(cases) == [
        ("eks-sg-policy.input", "cfn/broken.yaml:7"),
        ("EKS900", "cfn/eks.yaml:3 NodeSecurityGroup Requirement could not be verified"),
        (
            "EKS102",
            "cfn/eks.yaml:12 NodeSecurityGroup Control plane reaches the kubelet on TCP 10250 (node group NodeGroup)",
        ),
        (
            "EKS105",
            "cfn/eks.yaml:20 NodeSecurityGroup Control plane reaches node ports 1025-65535 (node group NodeGroup)",
        ),
        ("eks-sg-policy.file", "cfn/clean.yaml"),
    ]
    failure = cases["EKS102", next(n for c, n in cases if c == "EKS102")].find("failure")
    assert failure is not None and failure.get("type") == "error"
    assert failure.get("message") == finding().message
    assert "fix: add an ingress rule" in (failure.text or "")
    assert f"doc: {NODE_ROW.table}: {NODE_ROW.row} <{URL}>" in (failure.text or "")
    error = cases["eks-sg-policy.input", "cfn/broken.yaml:7"].find("error")
    assert error is not None and error.get("message") == "invalid YAML: mapping values are not allowed here"
    skipped = cases["EKS900", "cfn/eks.yaml:3 NodeSecurityGroup Requirement could not be verified"].find("skipped")
    assert skipped is not None and (skipped.get("message") or "").startswith("unverified: cannot decide")
    assert list(cases["eks-sg-policy.file", "cfn/clean.yaml"]) == []


def test_junit_note_that_was_decided_passes_with_its_message() -> None:
    note = finding("EKS201", "note", message='ENI attached <twice> & "more"', doc=CLUSTER_ROW)
    (case,) = ET.fromstring(render_junit(report((note,)))).iter("testcase")
    assert [child.tag for child in case] == ["system-out"]
    assert 'ENI attached <twice> & "more"' in (case[0].text or "")


def test_junit_strict_unverified_is_a_failure_and_suppressed_is_skipped_when_verbose() -> None:
    strict = finding("EKS900", "error", status="unverified", blocks="EKS102")
    root = ET.fromstring(render_junit(report((strict,), suppressed=FULL.suppressed), verbose=True))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("2", "1", "1")
    skipped = root.find("testsuite/testcase/skipped")
    assert skipped is not None and skipped.get("message") == "suppressed: public NLB, reviewed"


def test_junit_clean_run_shows_one_passing_test_per_file() -> None:
    root = ET.fromstring(render_junit(report(files=("a.yaml", "tf/main.tf"))))
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("2", "0", "0", "0")
    assert [c.get("name") for c in root.iter("testcase")] == ["a.yaml", "tf/main.tf"]


def test_junit_replaces_characters_xml_cannot_carry() -> None:
    bad = finding(message="bell\x07 and tab\tstay")
    failure = ET.fromstring(render_junit(report((bad,)))).find("testsuite/testcase/failure")
    assert failure is not None and failure.get("message") == "bell\ufffd and tab\tstay"


# --- GitHub Actions ------------------------------------------------------------------------------


def test_github_one_command_per_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    lines = render_github(FULL).splitlines()
    assert lines == [
        "::error file=cfn/broken.yaml,line=7,col=3,title=eks-sg-policy::"
        "invalid YAML: mapping values are not allowed here",
        "::notice file=cfn/eks.yaml,line=3,title=EKS900 Requirement could not be verified::Unverified: "
        f"{UNVERIFIED.message}%0AFix: pass --param ControlSG=sg-...%0ARequired by: Verification: "
        f"A requirement could not be decided ({URL})",
        "::error file=cfn/eks.yaml,line=12,title=EKS102 Control plane reaches the kubelet on TCP 10250::"
        f"{finding().message}%0AFix: add an ingress rule: tcp 10250 from ControlPlaneSecurityGroup"
        f"%0ARequired by: {NODE_ROW.table}: {NODE_ROW.row} ({URL})",
        "::warning file=cfn/eks.yaml,line=20,title=EKS105 Control plane reaches node ports 1025-65535::"
        f"ports 1025-65535 closed%0ARequired by: {CLUSTER_ROW.table}: {CLUSTER_ROW.row} ({URL})",
    ]


def test_github_escapes_data_and_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    odd = finding(file="a,b/c:d.yaml", message="100% open\r\nto all", fix=None)
    line = render_github(report((odd,)))
    assert line == (
        "::error file=a%2Cb/c%3Ad.yaml,line=12,title=EKS102 Control plane reaches the kubelet on TCP 10250::"
        f"100%25 open%0D%0Ato all%0ARequired by: {NODE_ROW.table}: {NODE_ROW.row} ({URL})\n"
    )
    custom = finding("ACME001", doc=DocRef("t", "x, y: z", "any", "https://example.invalid"), fix=None)
    assert ",title=ACME001 x%2C y%3A z::" in render_github(report((custom,)))


def test_github_appends_the_step_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    render_github(FULL)
    assert summary.read_text("utf-8") == "earlier step\n" + render_markdown(FULL)


def test_github_writes_nothing_without_step_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    render_github(FULL)
    assert list(tmp_path.iterdir()) == []


def test_github_unwritable_step_summary_becomes_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))  # a directory cannot be appended to
    last = render_github(report()).splitlines()[-1]
    assert last.startswith("::warning::eks-sg-policy could not write the step summary: ")


# --- Markdown ------------------------------------------------------------------------------------


def cells(row: str) -> list[str]:
    """Split a table row on unescaped pipes, as GitHub does."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_markdown_cell_escaping() -> None:
    assert cell("a|b\nc <d> & e\\") == "a\\|b<br>c &lt;d&gt; &amp; e\\\\"


def test_markdown_verdict_and_summary() -> None:
    text = render_markdown(FULL)
    lines = text.splitlines()
    assert lines[:2] == ["<!-- eks-sg-policy -->", "## ❌ eks-sg-policy: 1 error(s), 1 file(s) could not be read"]
    assert cells(lines[3]) == [
        "Files",
        "Clusters",
        "Node groups",
        "Errors",
        "Warnings",
        "Notes",
        "Unverified",
        "Suppressed",
    ]
    assert cells(lines[5]) == ["2", "1", "1", "1", "1", "1", "1", "1"]
    clean = render_markdown(report((WARNING,)))
    assert clean.splitlines()[1] == "## ✅ eks-sg-policy: no errors"


def test_markdown_findings_table_grouped_by_cluster_with_escaped_cells() -> None:
    piped = finding(message="a | b\nsecond line", cluster="Blue")
    lone = finding("EKS204", line=5, cluster=None, message="untagged")
    lines = render_markdown(report((piped, WARNING, lone, UNVERIFIED))).splitlines()
    headings = [line for line in lines if line.startswith("### ")]
    assert headings == ["### Not tied to a cluster", "### Cluster `Blue`", "### Cluster `Cluster`"]
    rows = [cells(line) for line in lines if line.startswith("| **")]
    blue = rows[1]
    assert blue == [
        "**EKS102**",
        "error",
        "violated",
        "`cfn/eks.yaml:12`",
        "a \\| b<br>second line",
        f"[{NODE_ROW.table}: {NODE_ROW.row}]({URL})",
    ]
    assert all(len(r) == 6 for r in rows)
    details = lines[lines.index("<summary>1 requirement(s) could not be verified</summary>") :]
    assert cells(details[4])[0] == "**EKS900** (blocks EKS102)"
    assert cells(details[4])[-1] == "pass --param ControlSG=sg-..."
    assert all("EKS900" not in line for line in lines[: lines.index("<details>")])


def test_markdown_strict_unverified_stays_in_the_table_and_verbose_lists_suppressed() -> None:
    strict = finding("EKS900", "error", status="unverified", blocks="EKS102")
    text = render_markdown(report((strict,), suppressed=FULL.suppressed), verbose=True)
    assert "| **EKS900** (blocks EKS102) | error | unverified |" in text
    assert "could not be verified</summary>" not in text
    assert "<summary>1 suppressed finding(s)</summary>" in text
    assert "| public NLB, reviewed |" in text
    assert "<summary>Scan notes</summary>" in text
    assert "suppressed finding(s)" not in render_markdown(report((strict,), suppressed=FULL.suppressed))
