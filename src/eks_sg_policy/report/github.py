"""`--format github`: GitHub Actions workflow commands, which the runner turns into annotations.

One line per finding, `::error|warning|notice file=PATH,line=N,title=ID title::message` (severity
error, warning, note), and `::error file=PATH,...` per file that could not be read. Escaping follows
the runner (actions/toolkit `command.ts`): `%`, CR and LF in the message; also `:` and `,` in the
properties. GitHub shows only a limited number of annotations per step; the log keeps them all.

Side effect, the only one of any reporter: when the environment variable `GITHUB_STEP_SUMMARY` names a
file, the Markdown report (`--format markdown`) is appended to it, so the job page shows the summary.
If that file cannot be written, a `::warning::` line says so instead of failing the scan.
"""

from __future__ import annotations

import os

from ..api import Report
from ..findings import UNVERIFIED, Finding
from ..policies import load_policies
from .markdown import render_markdown
from .sarif import repo_relative

_COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    given = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{name}{' ' + given if given else ''}::{escape_data(message)}"


def render_github(report: Report, verbose: bool = False) -> str:
    titles = {p.id: p.title for p in (report.policies.policies or load_policies().policies)}
    lines = [
        command("error", e.message, file=repo_relative(e.file), line=e.line, col=e.column, title="eks-sg-policy")
        for e in report.errors
    ]
    for finding in sorted(report.findings, key=Finding.sort_key):
        title = f"{finding.policy} {titles.get(finding.policy, finding.doc.row)}"
        lines.append(
            command(
                _COMMANDS[finding.severity],
                _message(finding),
                file=repo_relative(finding.file),
                line=finding.line,
                title=title,
            )
        )
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(render_markdown(report, verbose))
        except OSError as error:
            lines.append(command("warning", f"eks-sg-policy could not write the step summary: {error}"))
    return "".join(line + "\n" for line in lines)


def _message(finding: Finding) -> str:
    lines = [f"Unverified: {finding.message}" if finding.status == UNVERIFIED else finding.message]
    if finding.fix:
        lines.append(f"Fix: {finding.fix}")
    lines.append(f"Required by: {finding.doc.table}: {finding.doc.row} ({finding.doc.url})")
    return "\n".join(lines)
