"""Load the policy tables (YAML data, one file per document table) and validate them.

Rows of several tables may cite one policy; they must agree on what it checks. The result is one
`Policy` per id, carrying every row that cites it, so a finding can name its table and row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .errors import ScanError

# Package data (policy tables, schemas) sits next to the code; importlib.resources would cost more to import.
_PACKAGE = Path(__file__).resolve().parent

EDITIONS = ("2020", "current", "all")
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True, slots=True)
class DocRef:
    """A row of a table of the AWS document (or of another cited source)."""

    table: str
    row: str
    edition: str
    url: str
    side: str | None = None  # "ingress" for a row with a source, "egress" for one with a destination

    def as_dict(self) -> dict[str, str]:
        return {"table": self.table, "row": self.row, "edition": self.edition, "url": self.url}


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    title: str
    severity: str
    kind: str
    check: Mapping[str, Any]
    why: str
    rows: tuple[DocRef, ...]

    @property
    def doc(self) -> DocRef:
        return self.rows[0]

    def doc_for(self, side: str | None) -> DocRef:
        """The row that speaks of `side` (the direction that blocks), else the primary row."""
        return next((r for r in self.rows if r.side == side), self.rows[0])


@dataclass(frozen=True, slots=True)
class PolicySet:
    policies: tuple[Policy, ...]

    def get(self, policy_id: str) -> Policy | None:
        return next((p for p in self.policies if p.id == policy_id), None)

    def in_edition(self, edition: str) -> PolicySet:
        """The policies cited by a row of `edition` (2020, current, or all), with those rows only."""
        if edition not in EDITIONS:
            raise ScanError("--edition", f"unknown edition {edition!r}; use one of {', '.join(EDITIONS)}")
        if edition == "all":
            return self
        kept = []
        for policy in self.policies:
            rows = tuple(r for r in policy.rows if r.edition in (edition, "any"))
            if rows:
                kept.append(replace(policy, rows=rows))
        return PolicySet(tuple(kept))

    def ids(self) -> set[str]:
        return {p.id for p in self.policies}

    def select(self, only: Iterable[str] = (), skip: Iterable[str] = ()) -> PolicySet:
        wanted, unwanted = set(only), set(skip)
        return PolicySet(tuple(p for p in self.policies if (not wanted or p.id in wanted) and p.id not in unwanted))


def builtin_policy_dir() -> Path:
    return _PACKAGE / "policies"


@cache
def _schema() -> dict[str, Any]:
    text = (_PACKAGE / "schemas" / "policy-table.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_policies(extra_dirs: Sequence[str | Path] = (), edition: str = "all") -> PolicySet:
    """The shipped tables plus the user's, restricted to the rows of `edition` (2020, current, all)."""
    if edition not in EDITIONS:
        raise ScanError("--edition", f"unknown edition {edition!r}; use one of {', '.join(EDITIONS)}")
    files = sorted(builtin_policy_dir().glob("*.yaml"))
    for directory in extra_dirs:
        path = Path(directory)
        if not path.is_dir():
            raise ScanError(str(directory), "policy directory does not exist")
        files.extend(sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")))
    builtin = builtin_policy_dir()
    rows: list[tuple[dict[str, Any], DocRef, str]] = []
    for file in files:
        # The shipped tables are validated by the test suite; a user's are validated when read.
        table = _load_table(file, validate=file.parent != builtin)
        for row in table["rows"]:
            ref = DocRef(table["table"], row["row"], table["edition"], table["url"], _side(row.get("cells") or {}))
            if edition == "all" or ref.edition in (edition, "any"):
                rows.append((row, ref, str(file)))
    return PolicySet(_group(rows))


def _load_table(file: Path, validate: bool = True) -> dict[str, Any]:
    try:
        text = file.read_text("utf-8")
        data = load_plain_yaml(text, str(file))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScanError(str(file), f"cannot read policy file: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ScanError(str(file), f"invalid YAML: {getattr(exc, 'problem', exc)}", line) from None
    if validate:
        validate_table(str(file), text, data)
    table: dict[str, Any] = data
    return table


def validate_table(file: str, text: str, data: Any) -> None:
    """Raise a ScanError naming the schema path and line of the first mistake in a policy table."""
    import jsonschema  # deferred: only needed for tables that are not shipped

    validator = jsonschema.Draft7Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = _deepest(min(errors, key=lambda e: len(list(e.absolute_path))))
        path = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raise ScanError(file, f"invalid policy at {path}: {error.message}", _line_of(node, error.absolute_path))


def load_plain_yaml(text: str, file: str) -> Any:
    """YAML data without anchors or aliases (which could expand a small file into a huge value)."""
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else None
            raise ScanError(file, "YAML aliases are not allowed here", line)
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - CSafeLoader or SafeLoader: data only


def _side(cells: Mapping[str, str]) -> str | None:
    if "source" in cells:
        return "ingress"
    if "destination" in cells:
        return "egress"
    return None


def _deepest(error: Any) -> Any:
    """jsonschema reports if/then failures at the row; the useful message is in the context."""
    while error.context:
        error = max(error.context, key=lambda e: len(list(e.absolute_path)))
    return error


def _line_of(node: yaml.Node | None, path: Iterable[object]) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _group(rows: list[tuple[dict[str, Any], DocRef, str]]) -> tuple[Policy, ...]:
    by_id: dict[str, Policy] = {}
    for row, ref, file in rows:
        policy = Policy(
            id=row["policy"],
            title=row["title"],
            severity=row["severity"],
            kind=row["kind"],
            check=row["check"],
            why=row["why"],
            rows=(ref,),
        )
        known = by_id.get(policy.id)
        if known is None:
            by_id[policy.id] = policy
            continue
        for attribute in ("title", "severity", "kind", "check"):
            if getattr(known, attribute) != getattr(policy, attribute):
                raise ScanError(
                    file,
                    f"row {ref.row!r} cites {policy.id} with a different {attribute} than row "
                    f"{known.rows[0].row!r} of table {known.rows[0].table!r}",
                )
        by_id[policy.id] = Policy(
            known.id, known.title, known.severity, known.kind, known.check, known.why, (*known.rows, ref)
        )
    ordered = (
        Policy(
            p.id,
            p.title,
            p.severity,
            p.kind,
            p.check,
            p.why,
            tuple(sorted(p.rows, key=lambda r: _EDITION_RANK[r.edition])),
        )
        for p in by_id.values()
    )
    return tuple(sorted(ordered, key=lambda p: p.id))


# A finding cites the current document first, then the 2020 tables.
_EDITION_RANK = {"current": 0, "any": 1, "2020": 2}
