"""`--format text`: one line per finding, `path:line: ID severity message`, grouped by cluster."""

from __future__ import annotations

import os
import sys
from itertools import groupby

from ..api import Report
from ..findings import Finding

_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "note": "\033[36m"}
_RESET = "\033[0m"


def use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def render_text(report: Report, verbose: bool = False, colour: bool = False) -> str:
    lines: list[str] = []
    for error in report.errors:
        where = error.file + (f":{error.line}" if error.line else "") + (f":{error.column}" if error.column else "")
        lines.append(f"{where}: error: {error.message}")
    ordered = sorted(report.findings, key=lambda f: (f.cluster or "", *f.sort_key()))
    for cluster, group in groupby(ordered, key=lambda f: f.cluster or ""):
        lines.append(f"# cluster {cluster}" if cluster else "# not tied to a cluster")
        for finding in group:
            lines.append(_line(finding, colour))
            lines.extend(_edits(finding))
    if verbose:
        for finding in report.suppressed:
            lines.append(
                f"{finding.file}:{finding.line}: {finding.policy} suppressed ({finding.suppressed}): {finding.message}"
            )
        lines.extend(f"note: {n}" for n in report.notes)
    if report.baseline_known or report.baseline_gone:
        lines.append(f"{report.baseline_known} known finding(s) from the baseline are not shown")
        lines.extend(f"baseline entry no longer found: {entry}" for entry in report.baseline_gone)
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def _line(finding: Finding, colour: bool) -> str:
    severity = finding.severity
    if colour:
        severity = f"{_COLOURS.get(severity, '')}{severity}{_RESET}"
    status = " (unverified)" if finding.status == "unverified" else ""
    doc = f" [{finding.doc.table}: {finding.doc.row}]"
    return f"{finding.file}:{finding.line}: {finding.policy} {severity}{status} {finding.message}{doc}"


def _edits(finding: Finding) -> list[str]:
    lines = []
    for edit in finding.edits:
        where = f"inside {edit.inside}, " if edit.inside else ""
        lines.append(f"    fix: add to {edit.file}, {where}before line {edit.line}:")
        lines.extend(f"    | {text}".rstrip() for text in edit.text.rstrip("\n").splitlines())
    return lines


def _summary(report: Report) -> str:
    parts = [
        f"{len(report.files)} file(s)",
        f"{report.clusters} cluster(s)",
        f"{report.node_groups} node group(s)",
        f"{report.count('error')} error(s)",
        f"{report.count('warning')} warning(s)",
        f"{report.count('note')} note(s)",
    ]
    if report.suppressed:
        parts.append(f"{len(report.suppressed)} suppressed")
    if report.errors:
        parts.append(f"{len(report.errors)} file(s) could not be read")
    return "eks-sg-policy: " + ", ".join(parts)
