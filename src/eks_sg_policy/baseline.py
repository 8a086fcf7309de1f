"""Baselines: known findings recorded by fingerprint (policy, file, resource, ends; never the line),
so that `check --baseline FILE` reports only what is new."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from .api import Report
from .errors import ScanError

FORMAT_VERSION = 1


def write_baseline(report: Report, path: str) -> int:
    entries = sorted(
        (
            {
                "fingerprint": f.fingerprint(),
                "policy": f.policy,
                "file": f.file,
                "resource": f.resource,
                "message": f.message,
            }
            for f in report.findings
        ),
        key=lambda e: (e["file"], e["policy"], e["resource"], e["fingerprint"]),
    )
    document = {"version": FORMAT_VERSION, "tool": "eks-sg-policy", "findings": entries}
    Path(path).write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    return len(entries)


def load_baseline(path: str) -> dict[str, str]:
    """fingerprint -> a short description of the finding it stands for."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ScanError(path, f"cannot read baseline: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ScanError(path, f"invalid baseline JSON: {exc.msg}", exc.lineno, exc.colno) from None
    if (
        not isinstance(data, dict)
        or data.get("version") != FORMAT_VERSION
        or not isinstance(data.get("findings"), list)
    ):
        raise ScanError(
            path,
            f"not an eks-sg-policy baseline (version {FORMAT_VERSION}); write one with "
            "`eks-sg-policy baseline PATH -o FILE`",
        )
    known: dict[str, str] = {}
    for index, entry in enumerate(data["findings"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise ScanError(path, f"baseline entry {index} has no fingerprint")
        known[entry["fingerprint"]] = (
            f"{entry.get('policy', '?')} {entry.get('file', '?')} {entry.get('resource', '?')}"
        )
    return known


def apply_baseline(report: Report, known: dict[str, str]) -> Report:
    """Known findings move to `suppressed`; the report says how many and which entries are gone."""
    fresh, matched, seen = [], [], set()
    for finding in report.findings:
        fingerprint = finding.fingerprint()
        if fingerprint in known:
            matched.append(replace(finding, suppressed="in the baseline"))
            seen.add(fingerprint)
        else:
            fresh.append(finding)
    gone = tuple(sorted(known[f] for f in set(known) - seen))
    return replace(
        report,
        findings=tuple(fresh),
        suppressed=report.suppressed + tuple(matched),
        baseline_known=len(matched),
        baseline_gone=gone,
    )
