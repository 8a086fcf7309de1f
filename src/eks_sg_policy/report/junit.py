"""`--format junit`: JUnit XML for GitLab (`artifacts:reports:junit`), Jenkins and other CI test views.

A `<testsuites>` root holding one `<testsuite name="eks-sg-policy">`; its test cases are:

- one per finding, `classname` the policy id, `name` "`file:line resource title`" (plus the node group):
  - severity error or warning: a `<failure type="SEVERITY">`, so the test view shows what the AWS tables
    require and is not met (the job's exit code still follows `--fail-on`, which a report does not know);
  - a note that could not be verified (EKS900): `<skipped>`, because the requirement was not checked;
  - any other note: a passing test case whose `<system-out>` carries the message (advice, not a failure);
- one `<error>` test case per file that could not be read or parsed;
- one passing test case per scanned file without any finding, so a clean run still shows its tests;
- with `--verbose`, suppressed findings as `<skipped>` test cases giving the reason.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..api import Report
from ..findings import UNVERIFIED, Finding
from ..policies import load_policies

# XML 1.0 cannot carry these characters at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render_junit(report: Report, verbose: bool = False) -> str:
    titles = {p.id: p.title for p in (report.policies.policies or load_policies().policies)}
    suite = ET.Element("testsuite", name="eks-sg-policy")

    def case(classname: str, name: str) -> ET.Element:
        return ET.SubElement(suite, "testcase", classname=_clean(classname), name=_clean(name))

    for error in report.errors:
        where = error.file + (f":{error.line}" if error.line else "")
        problem = ET.SubElement(
            case("eks-sg-policy.input", where), "error", type="unreadable", message=_clean(error.message)
        )
        problem.text = _clean(str(error))
    for finding in sorted(report.findings, key=Finding.sort_key):
        element = case(finding.policy, _name(finding, titles.get(finding.policy, finding.doc.row)))
        if finding.severity in ("error", "warning"):
            child = ET.SubElement(element, "failure", type=finding.severity, message=_clean(finding.message))
        elif finding.status == UNVERIFIED:
            child = ET.SubElement(element, "skipped", message=_clean(f"unverified: {finding.message}"))
        else:
            child = ET.SubElement(element, "system-out")
        child.text = _clean(_details(finding))
    for finding in sorted(report.suppressed, key=Finding.sort_key) if verbose else []:
        element = case(finding.policy, _name(finding, titles.get(finding.policy, finding.doc.row)))
        skipped = ET.SubElement(element, "skipped", message=_clean(f"suppressed: {finding.suppressed}"))
        skipped.text = _clean(_details(finding))
    with_findings = {f.file for f in report.findings}
    for file in report.files:
        if file not in with_findings:
            case("eks-sg-policy.file", file)
    counts = {
        "tests": str(len(suite.findall("testcase"))),
        "failures": str(len(suite.findall("testcase/failure"))),
        "errors": str(len(suite.findall("testcase/error"))),
        "skipped": str(len(suite.findall("testcase/skipped"))),
    }
    suite.attrib.update(counts)
    root = ET.Element("testsuites", {"name": "eks-sg-policy", **counts})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _name(finding: Finding, title: str) -> str:
    name = f"{finding.file}:{finding.line} {finding.resource} {title}"
    return name + (f" (node group {finding.node_group})" if finding.node_group else "")


def _details(finding: Finding) -> str:
    lines = [
        f"{finding.file}:{finding.line}: {finding.policy} {finding.severity} ({finding.status}) {finding.message}",
        f"resource: {finding.resource}",
    ]
    if finding.cluster:
        lines.append(f"cluster: {finding.cluster}")
    if finding.node_group:
        lines.append(f"node group: {finding.node_group}")
    lines.append(f"doc: {finding.doc.table}: {finding.doc.row} <{finding.doc.url}>")
    if finding.fix:
        lines.append(f"fix: {finding.fix}")
    return "\n".join(lines)


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
