"""Walk every module instance and turn its resources into the model."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..model import (
    Cluster,
    FargateProfile,
    Model,
    NodeGroup,
    Provenance,
    Rule,
    SecurityGroup,
    SgKey,
    Vpc,
    referenced_keys,
)
from . import terraform_mapping as mapping
from .terraform_extract import Collector, View
from .terraform_module import ModuleInstance
from .terraform_resources import ResourceInstance
from .terraform_schema import ATTACHMENTS, RULE_RESOURCES
from .terraform_sg import rule_resource, security_group


class ModelBuilder:
    def __init__(self, root: ModuleInstance) -> None:
        self.root = root
        self.collector = Collector(root.ctx)
        self.rules: list[Rule] = []
        self.clusters: list[Cluster] = []
        self.node_groups: list[NodeGroup] = []
        self.fargate: list[FargateProfile] = []
        self.vpcs: list[Vpc] = []
        self.attachments: list[tuple[SgKey, Provenance]] = []
        self.templates = mapping.Templates()
        self.cluster_names: dict[str, str] = {}

    def build(self) -> Model:
        modules = list(self.root.all_instances())
        for rtype, handler in self._passes():
            for module in modules:
                for instance in self._instances(module, rtype):
                    handler(View.of(self.collector, instance))
        return self._model()

    def _passes(self) -> list[tuple[str, Callable[[View], None]]]:
        passes: list[tuple[str, Callable[[View], None]]] = [
            ("aws_security_group", self._security_group),
            *[(rtype, self._rule) for rtype in RULE_RESOURCES],
            ("aws_eks_cluster", self._cluster),
            ("aws_launch_template", self._template(lambda v: mapping.launch_template(v, unknown_interfaces=True))),
            ("aws_launch_configuration", self._template(mapping.launch_configuration)),
            (
                "aws_eks_node_group",
                lambda v: self.node_groups.append(mapping.managed_node_group(v, self.templates, self.cluster_names)),
            ),
            (
                "aws_autoscaling_group",
                lambda v: self.node_groups.append(
                    mapping.self_managed_node_group(v, self.templates, self.cluster_names)
                ),
            ),
            ("aws_eks_fargate_profile", lambda v: self.fargate.append(mapping.fargate_profile(v, self.cluster_names))),
            ("aws_vpc", lambda v: self.vpcs.append(mapping.vpc(v))),
        ]
        for rtype in (*ATTACHMENTS, "aws_lambda_function"):
            passes.append((rtype, lambda v: self.attachments.extend(mapping.attachments(v))))
        return passes

    def _instances(self, module: ModuleInstance, rtype: str) -> Iterator[ResourceInstance]:
        for address, decl in module.config.resources.items():
            if not address.startswith(f"{rtype}."):
                continue
            expansion, instances = module.instances(address)
            if expansion.unknown is not None:
                note = f"{decl.file}:{decl.line}: {expansion.unknown.what}; evaluated once, as a stand-in"
                module.ctx.note(note)
            yield from instances

    # -- handlers -------------------------------------------------------------------------
    def _security_group(self, view: View) -> None:
        group, rules = security_group(view)
        self.collector.groups[group.key] = group
        self.rules.extend(rules)

    def _rule(self, view: View) -> None:
        self.rules.extend(rule_resource(view))

    def _cluster(self, view: View) -> None:
        cluster, cluster_group = mapping.cluster(view, self.cluster_names)
        self.clusters.append(cluster)
        self.collector.groups[cluster_group.key] = cluster_group

    def _template(self, read: Callable[[View], mapping.TemplateGroups]) -> Callable[[View], None]:
        def handle(view: View) -> None:
            self.templates.add(view.key, read(view))  # by key only: references carry the template

        return handle

    # -- result ---------------------------------------------------------------------------
    def _model(self) -> Model:
        groups = dict(self.collector.groups)
        for key, group in self.collector.external.items():
            groups.setdefault(key, group)
        used = referenced_keys(self.rules, self.clusters, self.node_groups, self.attachments)
        ordered = [groups[k] for k in groups if k in used or groups[k].origin.value != "external"]
        return Model(
            security_groups=tuple(ordered),
            rules=tuple(self.rules),
            clusters=tuple(self.clusters),
            node_groups=tuple(self.node_groups),
            fargate_profiles=tuple(self.fargate),
            vpcs=tuple(self.vpcs),
            other_attachments=tuple(self.attachments),
        )


def build_model(root: ModuleInstance) -> Model:
    return ModelBuilder(root).build()


def declared_groups(model: Model) -> list[SecurityGroup]:
    return [g for g in model.security_groups if g.origin.value == "declared"]
