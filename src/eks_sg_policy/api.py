"""`scan(paths, options) -> Report`: the one entry point the CLI and every integration use."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .discovery import DEFAULT_MAX_FILE_SIZE, Unit, discover
from .engine import evaluate
from .errors import ScanError
from .findings import SEVERITY_RANK, Finding
from .linking import link_exports
from .loaders.base import LoadedUnit, Suppression
from .model import Model
from .policies import PolicySet, load_policies
from .remediation import attach_edits
from .topology import Topology, TopologyOptions, build_topology

if TYPE_CHECKING:
    from .explain import ClusterMatrix


@dataclass(frozen=True, slots=True)
class ScanOptions:
    params: Mapping[str, str] = field(default_factory=dict)  # CloudFormation parameters
    variables: Mapping[str, str] = field(default_factory=dict)  # Terraform variables
    var_files: Sequence[str] = ()
    policy_dirs: Sequence[str] = ()
    only: Sequence[str] = ()
    skip: Sequence[str] = ()
    strict: bool = False
    edition: str = "all"
    roles: Mapping[str, str] = field(default_factory=dict)
    stack_names: Mapping[str, str] = field(default_factory=dict)  # template path -> stack name
    template_urls: Mapping[str, str] = field(default_factory=dict)  # nested stack TemplateURL -> file
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    matrix: bool = False  # also compute the reachability matrix (explain, Markdown diagrams)
    today: date | None = None  # for suppression expiry; None: the real date


@dataclass(frozen=True, slots=True)
class Report:
    version: str
    files: tuple[str, ...]
    findings: tuple[Finding, ...]
    suppressed: tuple[Finding, ...]
    errors: tuple[ScanError, ...]
    notes: tuple[str, ...]
    clusters: int
    node_groups: int
    policies: PolicySet = field(default_factory=lambda: PolicySet(()))  # the policies this scan applied
    baseline_known: int = 0  # findings hidden because a baseline already holds them
    baseline_gone: tuple[str, ...] = ()  # baseline entries the scan no longer finds
    matrices: tuple[ClusterMatrix, ...] = ()  # with ScanOptions.matrix: who can reach whom, per cluster

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def exit_code(self, fail_on: str = "error") -> int:
        """0: nothing at or above `fail_on`; 1: something; 2: anything could not be read."""
        if self.errors:
            return 2
        if fail_on == "never":
            return 0
        threshold = SEVERITY_RANK[fail_on]
        return 1 if any(SEVERITY_RANK[f.severity] >= threshold for f in self.findings) else 0


def scan(paths: Sequence[str], options: ScanOptions | None = None) -> Report:
    """Read `paths` (files and directories) as one scan and evaluate every selected policy."""
    options = options or ScanOptions()
    policies = _policies(options)
    units, errors, notes = discover(paths, options.max_file_size)
    loaded: list[LoadedUnit] = []
    for unit in units:
        try:
            result = _load(unit, options, paths)
        except ScanError as error:
            errors.append(error)
            continue
        except (RecursionError, MemoryError):
            errors.append(ScanError(unit.files[0], "the input is nested or sized beyond what can be evaluated"))
            continue
        except Exception as exc:  # a loader bug must not pass a file nor crash the scan: fail closed
            errors.append(ScanError(unit.files[0], f"internal error while reading: {type(exc).__name__}"))
            continue
        if result is None:
            notes.append(f"{unit.files[0]}: not CloudFormation or Terraform, skipped")
        else:
            loaded.append(result)
    return evaluate_units(loaded, options, policies, errors, notes)


def evaluate_units(
    loaded: Sequence[LoadedUnit],
    options: ScanOptions,
    policies: PolicySet | None = None,
    errors: Sequence[ScanError] = (),
    notes: Sequence[str] = (),
) -> Report:
    """Evaluate already loaded units as one scan (the cfn-lint plugin enters here)."""
    policies = policies or _policies(options)
    units = _drop_contained(list(loaded))
    model = Model()
    for result in units:
        model = model.merged(result.model)
    model, link_notes = link_exports(model)
    topology = build_topology(model, TopologyOptions(roles=options.roles))
    verification = next((p for p in policies.policies if p.kind == "verification"), None)
    findings = attach_edits(evaluate(topology, policies, strict=options.strict, verification=verification), topology)
    suppressions = [s for result in units for s in result.suppressions]
    active, suppressed, expiry_notes = _apply_suppressions(findings, suppressions, options.today or date.today())
    return Report(
        version=__version__,
        files=tuple(sorted({f for result in units for f in result.files})),
        findings=tuple(active),
        suppressed=tuple(suppressed),
        errors=tuple(sorted(errors, key=lambda e: (e.file, e.line or 0))),
        notes=tuple([*notes, *(n for result in units for n in result.notes), *link_notes, *expiry_notes]),
        clusters=sum(1 for view in topology.clusters if view.cluster is not None),
        node_groups=sum(len(view.node_groups) for view in topology.clusters),
        policies=policies,
        matrices=_matrices(topology, policies) if options.matrix else (),
    )


def _matrices(topology: Topology, policies: PolicySet) -> tuple[ClusterMatrix, ...]:
    from .explain import reachability_matrix  # only `explain` and Markdown reports need it

    return reachability_matrix(topology, policies)


def _policies(options: ScanOptions) -> PolicySet:
    every = load_policies(options.policy_dirs)
    for policy_id in [*options.only, *options.skip]:
        if policy_id not in every.ids():
            raise ScanError("--only/--skip", f"unknown policy id {policy_id!r}; see `eks-sg-policy policies`")
    return every.in_edition(options.edition).select(options.only, options.skip)


def _load(unit: Unit, options: ScanOptions, paths: Sequence[str] = ()) -> LoadedUnit | None:
    if unit.kind == "terraform":
        from .loaders.terraform import load_terraform_module

        return load_terraform_module(unit.directory, unit.files, options.variables, options.var_files)
    if unit.kind == "tfplan":
        from .loaders.tfplan import load_plan

        return load_plan(unit.files[0], unit.text)
    from .loaders.cfn_yaml import looks_like_cloudformation
    from .loaders.cloudformation import NestedStacks, load_cloudformation

    params = dict(options.params)
    stack_name = _stack_name(unit.files[0], options.stack_names)
    if stack_name is not None:
        params["AWS::StackName"] = stack_name
    nested = NestedStacks(_scan_root(unit.files[0], paths), options.template_urls, options.max_file_size)
    try:
        return load_cloudformation(unit.files[0], unit.text, params, nested)
    except ScanError:
        if unit.explicit or looks_like_cloudformation(unit.text) or _json_template(unit.text):
            raise
        return None


def _json_template(text: str) -> bool:
    """JSON that YAML could not read (JSON allows characters YAML does not) but that is a template."""
    import json

    try:
        data = json.loads(text)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    resources = data.get("Resources", data)
    return "AWSTemplateFormatVersion" in data or (
        isinstance(resources, dict)
        and any(
            isinstance(r, dict) and str(r.get("Type", "")).startswith(("AWS::", "Custom::")) for r in resources.values()
        )
    )


def _stack_name(file: str, stack_names: Mapping[str, str]) -> str | None:
    wanted = os.path.normpath(file)
    return next((name for path, name in stack_names.items() if os.path.normpath(path) == wanted), None)


def _scan_root(file: str, paths: Sequence[str]) -> str:
    """The scanned tree a template belongs to, where the templates of its nested stacks must lie: the
    outermost of the current directory and the paths given that holds it."""
    here = Path(file).resolve()
    given = [Path(p).resolve() for p in paths]
    roots = [Path.cwd().resolve(), here.parent, *(p if p.is_dir() else p.parent for p in given)]
    return str(min((r for r in roots if r == here.parent or r in here.parents), key=lambda r: len(r.parts)))


def _drop_contained(units: list[LoadedUnit]) -> list[LoadedUnit]:
    """A unit whose files another unit also holds is not a root of its own: a module directory also
    loaded as a local module of another unit, a template also read as a nested stack of another."""
    file_sets = [set(u.files) for u in units]
    return [
        unit
        for i, unit in enumerate(units)
        if not any(i != j and file_sets[i] < file_sets[j] for j in range(len(units)))
    ]


def _apply_suppressions(
    findings: list[Finding], suppressions: list[Suppression], today: date
) -> tuple[list[Finding], list[Finding], list[str]]:
    active: list[Finding] = []
    suppressed: list[Finding] = []
    notes: list[str] = []
    for suppression in suppressions:
        if suppression.expires is not None and suppression.expires < today:
            notes.append(
                f"{suppression.provenance}: the skip of {suppression.policy} on {suppression.resource} expired "
                f"on {suppression.expires.isoformat()} and no longer applies"
            )
    for finding in findings:
        match = next(
            (
                s
                for s in suppressions
                if s.policy in (finding.policy, finding.blocks)
                and s.resource == finding.resource
                and s.provenance.file == finding.file
                and (s.expires is None or s.expires >= today)
            ),
            None,
        )
        if match is None:
            active.append(finding)
        else:
            suppressed.append(replace(finding, suppressed=match.reason))
    return active, suppressed, notes
