"""Load a Terraform plan in JSON (`terraform show -json PLANFILE`) into the model.

    load_plan(path, text) -> LoadedUnit

`planned_values` (one entry per resource instance, evaluated) is joined with `configuration` (one
entry per block, with `references`) by module-relative address with instance keys stripped. Known
values are used as they are; values known only after apply (new security group ids, above all) are
linked through the references of their configuration expressions, across module inputs and
outputs. The resulting model has the same keys and semantics as the HCL loader's
(`loaders.terraform`), with the plan file in place of the module directory:
`tf:<plan>:<address>` for declared resources, `cluster-sg:<cluster key>` for the group EKS creates,
`data:<plan>:<address>[.<attribute>]` for data sources, literal ids as themselves.

Provenance: every model element points at the line of its instance's `"address"` in
`planned_values` (the line that names the resource, module path and instance key included).
`terraform show -json` writes one line; pretty-print the plan (`jq . plan.json > plan.pretty.json`)
for findings with useful lines. Suppression comments do not exist in a plan; none are read.

Format versions 0.x and 1.x are read; properties this loader does not know are ignored. Only
`errors.ScanError` leaves this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..errors import ScanError
from ..model import (
    Cluster,
    FargateProfile,
    Model,
    NodeGroup,
    Provenance,
    Rule,
    RuleForm,
    SgKey,
    SgOrigin,
    Unresolved,
    Vpc,
    referenced_keys,
)
from . import terraform_mapping as mapping
from .base import LoadedUnit
from .terraform_schema import ATTACHMENTS, RULE_RESOURCES
from .tfplan_context import Context
from .tfplan_index import PlanIndex
from .tfplan_json import JsonError, JsonObject, parse_json
from .tfplan_rules import rule_resource, security_group, without_copies
from .tfplan_view import View

__all__ = ["load_plan"]

SUPPORTED_MAJOR_VERSIONS = (0, 1)


@dataclass(slots=True)
class _Progress:
    line: int | None = None  # the instance being read, for errors nobody expected


def load_plan(path: str, text: str) -> LoadedUnit:
    """Read the plan JSON `text` of the file `path` (as it should be reported)."""
    progress = _Progress()
    try:
        return _load(path, text, progress)
    except ScanError:
        raise
    except RecursionError:
        raise ScanError(path, "the plan is nested too deeply to read", progress.line) from None
    except Exception as exc:  # a bug must not crash a scan: report it against the plan
        message = f"internal error while reading the plan: {type(exc).__name__}: {exc}"
        raise ScanError(path, message, progress.line) from exc


def _load(path: str, text: str, progress: _Progress) -> LoadedUnit:
    try:
        document = parse_json(text)
    except JsonError as exc:
        raise ScanError(path, f"invalid JSON: {exc.message}", exc.line, exc.column) from None
    if not isinstance(document, JsonObject):
        raise ScanError(path, "not a Terraform plan: the JSON document is not an object", 1)
    _check_format(path, document)
    plan = PlanIndex(path, document)
    ctx = Context.of(plan)
    if "configuration" not in document:
        ctx.note(f"{path}: the plan has no configuration, so values known only after apply cannot be linked")
    model = _Builder(ctx, progress).build()
    model = replace(model, unevaluated=_incomplete(path, document))
    return LoadedUnit((path,), model, (), tuple(ctx.notes))


def _check_format(path: str, document: JsonObject) -> None:
    version = document.get("format_version")
    line = document.line_of("format_version")
    if version is None:
        raise ScanError(path, "not a Terraform plan: no format_version (expected `terraform show -json PLANFILE`)", 1)
    text = str(version)
    major = text.split(".", 1)[0]
    if not major.isdigit() or int(major) not in SUPPORTED_MAJOR_VERSIONS:
        raise ScanError(path, f"unsupported plan format_version {text} (this version reads 0.x and 1.x)", line)
    if not isinstance(document.get("planned_values"), dict):
        raise ScanError(
            path,
            "not a Terraform plan: no planned_values (a state file? scan `terraform show -json PLANFILE`)",
            line,
        )


def _incomplete(path: str, document: JsonObject) -> tuple[Unresolved, ...]:
    """The plan says it is partial: what it leaves out is not verified."""
    found: list[Unresolved] = []
    if document.get("errored") is True:
        found.append(
            Unresolved(
                "the plan errored, so Terraform did not plan every resource; the clusters, node groups and "
                "security group rules it left out are not verified",
                Provenance(path, document.line_of("errored"), "plan"),
                "fix the errors Terraform reported and plan again",
            )
        )
    if document.get("complete") is False:
        found.append(
            Unresolved(
                "the plan is not complete (Terraform deferred some changes to a later plan); the clusters, "
                "node groups and security group rules it defers are not verified",
                Provenance(path, document.line_of("complete"), "plan"),
                "apply this plan and scan the next one",
            )
        )
    return tuple(found)


@dataclass(slots=True)
class _Builder:
    ctx: Context
    progress: _Progress
    rules: list[Rule] = field(default_factory=list)
    shown: list[Rule] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    node_groups: list[NodeGroup] = field(default_factory=list)
    fargate: list[FargateProfile] = field(default_factory=list)
    vpcs: list[Vpc] = field(default_factory=list)
    attachments: list[tuple[SgKey, Provenance]] = field(default_factory=list)
    templates: mapping.Templates = field(default_factory=mapping.Templates)
    cluster_names: dict[str, str] = field(default_factory=dict)

    def build(self) -> Model:
        for rtype, handler in self._passes():
            for instance in self.ctx.plan.managed(rtype):
                self.progress.line = instance.line
                handler(View(self.ctx, instance))
        self.progress.line = None
        return self._model()

    def _passes(self) -> list[tuple[str, Callable[[View], None]]]:
        templates, names = self.templates, self.cluster_names
        passes: list[tuple[str, Callable[[View], None]]] = [
            ("aws_security_group", self._security_group),
            *[(rtype, lambda v: self.rules.extend(rule_resource(v))) for rtype in RULE_RESOURCES],
            ("aws_eks_cluster", self._cluster),
            ("aws_launch_template", self._template(lambda v: mapping.launch_template(v, unknown_interfaces=False))),
            ("aws_launch_configuration", self._template(mapping.launch_configuration)),
            ("aws_eks_node_group", lambda v: self.node_groups.append(mapping.managed_node_group(v, templates, names))),
            (
                "aws_autoscaling_group",
                lambda v: self.node_groups.append(mapping.self_managed_node_group(v, templates, names)),
            ),
            ("aws_eks_fargate_profile", lambda v: self.fargate.append(mapping.fargate_profile(v, names))),
            ("aws_vpc", lambda v: self.vpcs.append(mapping.vpc(v))),
        ]
        for rtype in (*ATTACHMENTS, "aws_lambda_function"):
            passes.append((rtype, lambda v: self.attachments.extend(mapping.attachments(v))))
        return passes

    def _template(self, read: Callable[[View], mapping.TemplateGroups]) -> Callable[[View], None]:
        def handle(view: View) -> None:
            # Known by its id and name too: a known id in the plan stands where HCL has the reference.
            self.templates.add(view.key, read(view), known_as=(view.value("id"), view.value("name")))

        return handle

    def _security_group(self, view: View) -> None:
        group, rules, shown = security_group(view)
        self.ctx.groups[group.key] = group
        self.rules.extend(rules)
        self.shown.extend(shown)

    def _cluster(self, view: View) -> None:
        cluster, cluster_group = mapping.cluster(view, self.cluster_names)
        self.clusters.append(cluster)
        self.ctx.groups[cluster_group.key] = cluster_group

    def _model(self) -> Model:
        standalone = [r for r in self.rules if r.form is RuleForm.STANDALONE]
        rules = self.rules + without_copies(self.shown, standalone)
        groups = dict(self.ctx.groups)
        for key, group in self.ctx.external.items():
            groups.setdefault(key, group)
        used = referenced_keys(rules, self.clusters, self.node_groups, self.attachments)
        ordered = [g for k, g in groups.items() if k in used or g.origin is not SgOrigin.EXTERNAL]
        return Model(
            security_groups=tuple(ordered),
            rules=tuple(rules),
            clusters=tuple(self.clusters),
            node_groups=tuple(self.node_groups),
            fargate_profiles=tuple(self.fargate),
            vpcs=tuple(self.vpcs),
            other_attachments=tuple(self.attachments),
        )
