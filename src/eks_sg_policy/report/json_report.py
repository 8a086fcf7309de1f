"""`--format json`: the stable machine-readable form of a report (see the CLI contract)."""

from __future__ import annotations

import json
from typing import Any

from ..api import Report
from ..findings import Finding


def finding_dict(finding: Finding) -> dict[str, Any]:
    data: dict[str, Any] = {
        "policy": finding.policy,
        "severity": finding.severity,
        "status": finding.status,
        "message": finding.message,
        "file": finding.file,
        "line": finding.line,
        "resource": finding.resource,
        "cluster": finding.cluster,
        "node_group": finding.node_group,
        "doc": finding.doc.as_dict(),
        "references": [ref.as_dict() for ref in finding.references],
        "fix": "".join(e.text for e in finding.edits) if finding.edits else finding.fix,
        "fix_hint": finding.fix,
        "fix_edits": [
            {"file": e.file, "insert_before_line": e.line, "inside": e.inside, "text": e.text} for e in finding.edits
        ],
        "fingerprint": finding.fingerprint(),
    }
    if finding.blocks:
        data["blocks"] = finding.blocks
    if finding.suppressed is not None:
        data["suppressed"] = finding.suppressed
    return data


def report_dict(report: Report, verbose: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "tool": {"name": "eks-sg-policy", "version": report.version},
        "findings": [finding_dict(f) for f in report.findings],
        "errors": [{"file": e.file, "line": e.line, "column": e.column, "message": e.message} for e in report.errors],
        "summary": {
            "files": len(report.files),
            "clusters": report.clusters,
            "node_groups": report.node_groups,
            "error": report.count("error"),
            "warning": report.count("warning"),
            "note": report.count("note"),
            "unverified": sum(1 for f in report.findings if f.status == "unverified"),
            "suppressed": len(report.suppressed),
        },
    }
    if report.baseline_known or report.baseline_gone:
        data["baseline"] = {"known": report.baseline_known, "gone": list(report.baseline_gone)}
    if verbose:
        data["suppressed"] = [finding_dict(f) for f in report.suppressed]
        data["notes"] = list(report.notes)
    return data


def render_json(report: Report, verbose: bool = False) -> str:
    return json.dumps(report_dict(report, verbose), indent=2, sort_keys=False) + "\n"
