"""Resource instances as lazy values: `aws_security_group.node[0].id`, nested and dynamic blocks.

A reference to a resource attribute reads the attribute's expression from the configuration
and evaluates it in that instance's scope (`count.index`, `each.*` bound). Attributes known only
after apply are Unknown, except the identities the model needs: a security group's id, the
cluster security group EKS creates, and the names/ids of clusters, launch templates and launch
configurations, which become `Ref`s (or `Tagged` strings when the name itself is known).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Unresolved
from .hcl_ast import Variable
from .hcl_eval import ChildScope, Scope, evaluate
from .hcl_parse import Attribute, Block
from .hcl_values import EvalError, Lazy, Ref, Tagged, Unknown, force, pairs, unknown_from
from .terraform_config import BlockDecl
from .terraform_schema import cluster_sg_key

if TYPE_CHECKING:
    from .terraform_module import ModuleInstance

META_ARGUMENTS = frozenset({"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner"})
NAMED_KINDS = {"aws_launch_template": "lt", "aws_launch_configuration": "lc", "aws_eks_cluster": "cluster"}
_COMPUTED_BLOCKS = {"aws_eks_cluster": ("vpc_config",)}


class ResourceInstance(Lazy):
    def __init__(
        self,
        module: ModuleInstance,
        decl: BlockDecl,
        rtype: str,
        name: str,
        suffix: str,
        bindings: dict[str, object],
        condition: Unresolved | None = None,
    ) -> None:
        self.module = module
        self.condition = condition  # exists only if this (undecidable) condition holds
        self.decl = decl
        self.type = rtype
        self.name = name
        self.suffix = suffix
        self.address = f"{module.prefix}{rtype}.{name}{suffix}"
        self.key = f"tf:{module.ctx.root_dir}:{self.address}"
        self.scope: Scope = module.scope(decl.file, bindings)
        self.root = BlockValue(self, decl.block, (), self.scope)
        self._cache: dict[str, object] = {}

    @property
    def block(self) -> Block:
        return self.decl.block

    @property
    def file(self) -> str:
        return self.decl.file

    def get_attr(self, name: str) -> object:
        if name not in self._cache:
            self._cache[name] = self.root.get_attr(name)
        return self._cache[name]

    def index(self, key: object) -> object:
        raise EvalError(f"{self.address} is a single instance and cannot be indexed")

    def materialize(self) -> object:
        return self.root.materialize()

    def describe(self) -> str:
        return self.address

    def attribute(self, name: str) -> Attribute | None:
        attribute = self.block.attributes.get(name)
        return attribute if name not in META_ARGUMENTS else None


class BlockValue(Lazy):
    """A resource body or one of its nested blocks; `block` is None for a computed-only block."""

    def __init__(self, instance: ResourceInstance, block: Block | None, path: tuple[str, ...], scope: Scope) -> None:
        self.instance = instance
        self.block = block
        self.path = path
        self.scope = scope

    def describe(self) -> str:
        return ".".join((self.instance.address, *self.path))

    def get_attr(self, name: str) -> object:
        path = (*self.path, name)
        special = computed_attribute(self.instance, path)
        if special is not None:
            return special
        if self.block is not None:
            attribute = self.block.attributes.get(name)
            if attribute is not None and (self.path or name not in META_ARGUMENTS):
                return evaluate_attribute(self.instance, attribute, self.scope, path)
            blocks, unknown = nested_blocks(self.block, name, self.scope)
            if unknown is not None:
                return unknown
            if blocks:
                return [BlockValue(self.instance, block, path, scope) for block, scope in blocks]
        if path[:1] == _COMPUTED_BLOCKS.get(self.instance.type, ())[:1] and len(path) == 1:
            return [BlockValue(self.instance, None, path, self.scope)]
        return Unknown(f"{self.describe()}.{name} is known only after apply")

    def materialize(self) -> object:
        if self.block is None:
            return Unknown(self.describe())
        out: dict[str, object] = {}
        for name, attribute in self.block.attributes.items():
            if self.path or name not in META_ARGUMENTS:
                out[name] = evaluate_attribute(self.instance, attribute, self.scope, (*self.path, name))
        for child in self.block.blocks:
            kind = child.labels[0] if child.type == "dynamic" and child.labels else child.type
            if kind not in out and kind not in META_ARGUMENTS:
                out[kind] = self.get_attr(kind)
        return out


def evaluate_attribute(instance: ResourceInstance, attribute: Attribute, scope: Scope, path: tuple[str, ...]) -> object:
    """An attribute's value; errors Terraform would report become Unknown plus a note."""
    label = ".".join((instance.address, *path))
    with instance.module.ctx.evaluating(label, instance.file, attribute.line):
        try:
            return evaluate(attribute.expr, scope)
        except EvalError as exc:
            instance.module.ctx.note(f"{instance.file}:{attribute.line}: {label}: {exc.message}")
            return Unknown(f"{label} could not be evaluated: {exc.message}")


def computed_attribute(instance: ResourceInstance, path: tuple[str, ...]) -> object | None:
    """The identities a reference to this resource yields, or None for ordinary attributes."""
    rtype = instance.type
    if path == ("id",) and rtype == "aws_security_group":
        return Ref("sg", instance.key, f"{instance.address}.id")
    if path == ("id",) and rtype == "aws_launch_template":
        return Ref("lt", instance.key, f"{instance.address}.id")
    if path in (("id",), ("name",)) and rtype in NAMED_KINDS:
        return _named(instance)
    if rtype == "aws_eks_cluster" and path == ("vpc_config", "cluster_security_group_id"):
        what = f"{instance.address}.vpc_config[0].cluster_security_group_id"
        return Ref("cluster-sg", cluster_sg_key(instance.key), what)
    return None


def _named(instance: ResourceInstance) -> object:
    ref = Ref(NAMED_KINDS[instance.type], instance.key, f"{instance.address}.name")
    attribute = instance.attribute("name")
    if attribute is None:
        return ref
    value = force(evaluate_attribute(instance, attribute, instance.scope, ("name",)))
    if isinstance(value, str) and not isinstance(value, Tagged):
        return Tagged(value, ref)
    return ref


def nested_blocks(block: Block, name: str, scope: Scope) -> tuple[list[tuple[Block, Scope]], Unknown | None]:
    """The `name` blocks of a body in source order, `dynamic` ones expanded with their iterator."""
    out: list[tuple[Block, Scope]] = []
    for child in block.blocks:
        if child.type == name:
            out.append((child, scope))
        elif child.type == "dynamic" and child.labels[:1] == (name,):
            unknown = _expand_dynamic(child, name, scope, out)
            if unknown is not None:
                return out, unknown
    return out, None


def _expand_dynamic(dynamic: Block, name: str, scope: Scope, out: list[tuple[Block, Scope]]) -> Unknown | None:
    for_each = dynamic.attributes.get("for_each")
    contents = dynamic.children("content")
    if for_each is None or not contents:
        return None
    iterator = name
    iterator_attr = dynamic.attributes.get("iterator")
    if iterator_attr is not None and isinstance(iterator_attr.expr, Variable):
        iterator = iterator_attr.expr.name
    collection = force(evaluate(for_each.expr, scope))
    if isinstance(collection, (Unknown, Ref)):
        return unknown_from(collection)
    if not isinstance(collection, (dict, list)):
        raise EvalError(f'for_each of dynamic "{name}" must be a collection, not {collection!r}')
    for key, value in pairs(collection):
        out.append((contents[0], ChildScope(scope, {iterator: {"key": key, "value": value}})))
    return None
