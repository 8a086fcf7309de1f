"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning (and any other SARIF viewer).

GitHub's own requirements, beyond the schema: `security-severity` is a string, every result has a
location with a repo-relative URI and `partialFingerprints.primaryLocationLineHash` (the REST upload
does not compute one). Ours is built from `Finding.fingerprint()`, so it does not change when lines move.
Every policy of the catalog is listed as a rule, so code scanning can tell "ran and found nothing"
(the alert closes) from "rule unknown". Suppressed findings are listed only with `--verbose`, marked
with a SARIF `suppressions` entry.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from ..api import Report
from ..errors import ScanError
from ..findings import UNVERIFIED, Finding
from ..policies import DocRef, Policy, load_policies

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/eks-sg-policy/"
SRCROOT = "%SRCROOT%"
# GitHub: above 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low. Must be a string.
SECURITY_SEVERITY = {"error": "8.0", "warning": "5.0", "note": "2.0"}


def repo_relative(path: str) -> str:
    """`path` with forward slashes; an absolute path under the current directory made relative to it."""
    native = Path(path)
    if native.is_absolute():
        try:
            native = native.relative_to(Path.cwd())
        except ValueError:
            return native.as_posix()
    return str(PurePosixPath(native.as_posix()))


def render_sarif(report: Report, verbose: bool = False) -> str:
    catalog = {p.id: p for p in (report.policies.policies or load_policies().policies)}
    findings = sorted(report.findings, key=Finding.sort_key)
    suppressed = sorted(report.suppressed, key=Finding.sort_key) if verbose else []
    rules = _rules(catalog, [*findings, *suppressed])
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    occurrences: Counter[str] = Counter()
    results = [_result(f, index[f.policy], occurrences) for f in [*findings, *suppressed]]
    notifications = [_error_notification(e) for e in report.errors]
    if verbose:
        notifications += [{"level": "note", "message": {"text": note}} for note in report.notes]
    invocation: dict[str, Any] = {"executionSuccessful": not report.errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run = {
        "tool": {
            "driver": {
                "name": "eks-sg-policy",
                "version": report.version,
                "semanticVersion": report.version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "automationDetails": {"id": "eks-sg-policy/"},
        "invocations": [invocation],
        "results": results,
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, sort_keys=True) + "\n"


def _rules(catalog: dict[str, Policy], findings: list[Finding]) -> list[dict[str, Any]]:
    """The catalog, plus a rule for any finding of a policy the catalog lacks (a user's --policies)."""
    policies = dict(catalog)
    for finding in findings:
        if finding.policy not in policies:
            why = "A policy of a table given with --policies."
            policies[finding.policy] = Policy(
                finding.policy, finding.doc.row, finding.severity, "custom", {}, why, (finding.doc,)
            )
    return [_rule(policies[policy_id]) for policy_id in sorted(policies)]


def _rule(policy: Policy) -> dict[str, Any]:
    cited = "; ".join(_cite(row) for row in policy.rows)
    rows_md = "\n".join(f"- [{row.table}: {row.row}]({row.url}) ({row.edition} edition)" for row in policy.rows)
    return {
        "id": policy.id,
        "name": _slug(policy.title),
        "shortDescription": {"text": policy.title},
        "fullDescription": {"text": f"{policy.title}. {policy.why} Cited by: {cited}."},
        "help": {
            "text": f"{policy.why}\nRequired by the table {cited}: {policy.doc.url}",
            "markdown": f"**{policy.title}**\n\n{policy.why}\n\nRequired by:\n\n{rows_md}\n",
        },
        "helpUri": policy.doc.url,
        "defaultConfiguration": {"level": policy.severity},
        "properties": {
            "tags": ["security", "eks", "security-group", policy.kind],
            "precision": "medium" if policy.kind == "verification" else "high",
            "security-severity": SECURITY_SEVERITY[policy.severity],
        },
    }


def _result(finding: Finding, rule_index: int, occurrences: Counter[str]) -> dict[str, Any]:
    fingerprint = finding.fingerprint()
    occurrences[fingerprint] += 1  # two findings with one identity still get distinct hashes
    text = finding.message.rstrip()
    if finding.status == UNVERIFIED:
        text = f"Unverified: {text}"
    if finding.fix:  # GitHub lists the first sentence only: end the message before the hint
        text += ("" if text.endswith((".", "!", "?")) else ".") + f" Fix: {finding.fix}"
    result: dict[str, Any] = {
        "ruleId": finding.policy,
        "ruleIndex": rule_index,
        "level": finding.severity,
        "message": {"text": text},
        "locations": [_location(finding.file, finding.line)],
        "partialFingerprints": {"primaryLocationLineHash": f"{fingerprint}:{occurrences[fingerprint]}"},
        "fingerprints": {"eks-sg-policy/v1": fingerprint},
        "properties": {
            "status": finding.status,
            "resource": finding.resource,
            "cluster": finding.cluster,
            "node_group": finding.node_group,
            "doc": finding.doc.as_dict(),
        },
    }
    if finding.blocks:
        result["properties"]["blocks"] = finding.blocks
    if finding.edits:
        result["fixes"] = [_fix(finding)]
    if finding.suppressed is not None:
        result["suppressions"] = [{"kind": "inSource", "justification": finding.suppressed}]
    return result


def _fix(finding: Finding) -> dict[str, Any]:
    """A SARIF fix: each snippet inserted (an empty deleted region) before its line."""
    changes: dict[str, list[dict[str, Any]]] = {}
    for edit in finding.edits:
        region = {"startLine": edit.line, "startColumn": 1, "endLine": edit.line, "endColumn": 1}
        changes.setdefault(edit.file, []).append({"deletedRegion": region, "insertedContent": {"text": edit.text}})
    return {
        "description": {"text": finding.fix or "add the missing rules"},
        "artifactChanges": [
            {"artifactLocation": _location(file, None)["physicalLocation"]["artifactLocation"], "replacements": repl}
            for file, repl in sorted(changes.items())
        ],
    }


def _location(file: str, line: int | None, column: int | None = None) -> dict[str, Any]:
    path = Path(repo_relative(file))
    # A path outside the current directory stays an absolute file URI; GitHub maps it with its checkout path.
    relative = {"uri": quote(path.as_posix()), "uriBaseId": SRCROOT}
    artifact = {"uri": path.as_uri()} if path.is_absolute() else relative
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if line is not None:
        physical["region"] = {"startLine": max(line, 1)}
        if column is not None:
            physical["region"]["startColumn"] = max(column, 1)
    return {"physicalLocation": physical}


def _error_notification(error: ScanError) -> dict[str, Any]:
    return {
        "level": "error",
        "message": {"text": f"{error.file}: {error.message}"},
        "locations": [_location(error.file, error.line, error.column)],
    }


def _cite(row: DocRef) -> str:
    return f'"{row.table}", row "{row.row}" ({row.edition})'


def _slug(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())
