"""`--format markdown`: a pull-request comment body (also the GitHub step summary of `--format github`).

Layout: a heading with the verdict of the default `--fail-on error` (✅/❌), a summary table, the files
that could not be read, one findings table per cluster, then collapsible `<details>`: the notes that
could not be verified (EKS900, with what to supply), the fix hints of the findings in the tables, and
with `--verbose` the suppressed findings. An unverified finding raised to error or warning (`--strict`)
stays in the findings table. The first line is an HTML comment that bots can use to find and update
an earlier comment.
"""

from __future__ import annotations

from itertools import groupby

from ..api import Report
from ..findings import UNVERIFIED, Finding

MARKER = "<!-- eks-sg-policy -->"
_COLUMNS = ("Policy", "Severity", "Status", "Location", "Message", "Doc row")


def cell(text: str) -> str:
    """Text safe inside a table cell: `|` escaped, newlines as <br>, no accidental HTML tags."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def render_markdown(report: Report, verbose: bool = False) -> str:
    findings = sorted(report.findings, key=lambda f: (f.cluster or "", *f.sort_key()))
    collapsed = [f for f in findings if _collapsed(f)]
    tabled = [f for f in findings if not _collapsed(f)]
    lines = [MARKER, _heading(report), "", *_summary(report)]
    if report.matrices:
        from .diagram import render_mermaid

        lines += ["", "### Who can reach whom", "", "```mermaid", render_mermaid(report.matrices).rstrip(), "```"]
    if report.errors:
        lines += ["", "### Files that could not be read", ""]
        lines += [f"- {_code(str(e))}" for e in report.errors]
    for cluster, group in groupby(tabled, key=lambda f: f.cluster or ""):
        lines += ["", f"### Cluster {_code(cluster)}" if cluster else "### Not tied to a cluster", ""]
        lines += _table(_COLUMNS, [_row(f) for f in group])
    if collapsed:
        rows = [[*_row(f)[:5], cell(f.fix or "")] for f in collapsed]
        lines += _details(
            f"{len(collapsed)} requirement(s) could not be verified", _table((*_COLUMNS[:5], "To decide it"), rows)
        )
    hints = []
    for f in tabled:
        if f.fix:
            hints.append(f"- {_code(_where(f))} **{f.policy}**: {cell(f.fix)}")
        for edit in f.edits:
            language = "hcl" if edit.file.endswith(".tf") else "json" if edit.file.endswith(".json") else "yaml"
            where = f"inside {edit.inside}, " if edit.inside else ""
            hints += ["", f"  Add to {_code(edit.file)}, {where}before line {edit.line}:", "",
                      f"  ```{language}", *(f"  {t}" for t in edit.text.rstrip().splitlines()), "  ```"]  # fmt: skip
    if hints:
        lines += _details("Fix hints", hints)
    if verbose and report.suppressed:
        rows = [[*_row(f)[:5], cell(f.suppressed or "")] for f in report.suppressed]
        lines += _details(f"{len(report.suppressed)} suppressed finding(s)", _table((*_COLUMNS[:5], "Reason"), rows))
    if verbose and report.notes:
        lines += _details("Scan notes", [f"- {cell(n)}" for n in report.notes])
    lines += ["", f"<sub>eks-sg-policy {cell(report.version)}</sub>"]
    return "\n".join(lines) + "\n"


def _collapsed(finding: Finding) -> bool:
    """Notes that could not be decided go into <details>; under --strict they are errors and stay in view."""
    return finding.status == UNVERIFIED and finding.severity == "note"


def _heading(report: Report) -> str:
    if report.exit_code("error") == 0:
        return "## ✅ eks-sg-policy: no errors"
    problems = [f"{report.count('error')} error(s)"] if report.count("error") else []
    if report.errors:
        problems.append(f"{len(report.errors)} file(s) could not be read")
    return f"## ❌ eks-sg-policy: {', '.join(problems)}"


def _summary(report: Report) -> list[str]:
    unverified = sum(1 for f in report.findings if f.status == UNVERIFIED)
    counts = [
        len(report.files),
        report.clusters,
        report.node_groups,
        report.count("error"),
        report.count("warning"),
        report.count("note"),
        unverified,
        len(report.suppressed),
    ]
    header = ("Files", "Clusters", "Node groups", "Errors", "Warnings", "Notes", "Unverified", "Suppressed")
    return _table(header, [[str(n) for n in counts]])


def _row(finding: Finding) -> list[str]:
    doc = finding.doc
    link = f"[{_link_text(f'{doc.table}: {doc.row}')}]({doc.url.replace(')', '%29').replace(' ', '%20')})"
    return [
        f"**{cell(finding.policy)}**" + (f" (blocks {cell(finding.blocks)})" if finding.blocks else ""),
        cell(finding.severity),
        cell(finding.status),
        _code(_where(finding)),
        cell(finding.message),
        link,
    ]


def _table(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _details(summary: str, body: list[str]) -> list[str]:
    return ["", "<details>", f"<summary>{cell(summary)}</summary>", "", *body, "", "</details>"]


def _where(finding: Finding) -> str:
    return f"{finding.file}:{finding.line}"


def _code(text: str) -> str:
    """A code span that survives a table cell: no backticks or newlines inside, `|` escaped."""
    return "`" + text.replace("`", "'").replace("\n", " ").replace("\r", " ").replace("|", "\\|") + "`"


def _link_text(text: str) -> str:
    return cell(text).replace("[", "\\[").replace("]", "\\]")
