"""Module instances: variables, locals, outputs, count/for_each expansion and local child modules.

Everything is evaluated lazily and memoized, so only what the model needs (and what that
depends on) is ever computed; a reference cycle is reported with the names that form it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..errors import ScanError
from ..model import GroupRef, Provenance, Unresolved
from . import hcl_ast as ast
from .hcl_eval import Scope, evaluate
from .hcl_expr import HclSyntaxError, parse_expression
from .hcl_types import convert, parse_type
from .hcl_values import EvalError, Lazy, Ref, Tagged, Unknown, force
from .relevance import TERRAFORM_MODULE
from .terraform_config import BlockDecl, ModuleConfig, module_files, normalize_dir
from .terraform_context import LoadContext, evaluate_constant
from .terraform_expand import Expansion, StandIn, expand, shape
from .terraform_resources import ResourceInstance

MAX_MODULE_DEPTH = 8
_MISSING = object()
_COLLECTION_KINDS = frozenset({"list", "set", "map", "object", "tuple"})


@dataclass(slots=True)
class ChildGroup:
    source: str
    expansion: Expansion | None = None
    instances: list[ModuleInstance] = field(default_factory=list)


class _Namespace(Lazy):
    def __init__(self, label: str, getter: Callable[[str], object]) -> None:
        self.label = label
        self.getter = getter

    def get_attr(self, name: str) -> object:
        return self.getter(name)

    def describe(self) -> str:
        return self.label


class ModuleScope:
    def __init__(self, module: ModuleInstance, file: str, bindings: dict[str, object]) -> None:
        self.module = module
        self._file = file
        self.bindings = bindings

    @property
    def file(self) -> str:
        return self._file

    def lookup(self, name: str, node: ast.Node) -> object:
        if name in self.bindings:
            return self.bindings[name]
        module = self.module
        roots: dict[str, Callable[[], object]] = {
            "var": lambda: _Namespace("var", module.variable),
            "local": lambda: _Namespace("local", module.local),
            "module": lambda: _Namespace("module", module.module_call),
            "data": lambda: _Namespace("data", lambda t: _Namespace(f"data.{t}", lambda n: module.data_source(t, n))),
            "path": lambda: {"module": module.config.directory, "root": module.ctx.root_dir, "cwd": module.ctx.cwd},
            "terraform": lambda: {"workspace": "default"},
            "self": lambda: Unknown("self"),
        }
        if name in roots:
            return roots[name]()
        if name in module.config.resource_types:
            return _Namespace(name, lambda n: module.resource(name, n))
        if name in ("count", "each"):
            raise EvalError(f"{name} is not available here: this block has no {name}")
        if "_" in name:
            where = module.config.directory
            hint = "declare it, or scan the file that does"
            return _Namespace(name, lambda n: Unknown(f"{name}.{n} is not declared in {where}", hint))
        raise EvalError(f"unknown name {name!r}")


class ModuleInstance:
    def __init__(
        self,
        ctx: LoadContext,
        config: ModuleConfig,
        prefix: str = "",
        call: tuple[ModuleInstance, BlockDecl, dict[str, object]] | None = None,
        values: dict[str, object] | None = None,
        chain: tuple[str, ...] = (),
        condition: Unresolved | None = None,
        key: str = "",
    ) -> None:
        self.ctx = ctx
        self.config = config
        self.prefix = prefix
        self.key = key  # the module call names from the root, joined with dots (`terraform init`'s key)
        self.call = call
        self.values = values or {}
        self.chain = (*chain, config.directory)
        self.condition = condition  # set when the module call's count/for_each is not decidable
        self._memo: dict[str, object] = {}
        self._expansions: dict[int, Expansion] = {}
        self._children: dict[str, ChildGroup] = {}

    def scope(self, file: str, bindings: dict[str, object] | None = None) -> Scope:
        return ModuleScope(self, file, bindings or {})

    def _memoized(self, key: str, compute: Callable[[], object]) -> object:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # -- variables ------------------------------------------------------------------------
    def variable(self, name: str) -> object:
        return self._memoized(f"var.{name}", lambda: self._variable(name))

    def _variable(self, name: str) -> object:
        decl = self.config.variables.get(name)
        if decl is None:
            return Unknown(f"var.{name} is not declared in {self.config.directory}")
        attrs = decl.block.attributes
        spec = parse_type(attrs["type"].expr if "type" in attrs else None)
        raw = self._given_value(name, decl, spec.kind)
        nullable = "nullable" not in attrs or evaluate_constant(attrs["nullable"].expr, decl.file) is not False
        if (raw is _MISSING or (raw is None and not nullable)) and "default" in attrs:
            raw = self._constant(attrs["default"].expr, decl, f"default of var.{name}")
        if raw is _MISSING:
            return Ref(
                "var", f"var:{self.ctx.root_dir}:{self.prefix}{name}", f"{self.prefix}var.{name}", self._hint(name)
            )
        try:
            return convert(raw, spec, lambda node: evaluate_constant(node, decl.file), f"var.{name}")
        except EvalError as exc:
            self.ctx.note(f"{decl.file}:{decl.line}: var.{name}: value does not match its type: {exc.message}")
            return raw

    def _note_alias(self, name: str, value: object) -> None:
        """A group passed into this module is also `var.<name>` here (fix snippets written in this
        module refer to it that way)."""
        value = force(value)
        if isinstance(value, Ref) and value.kind in ("sg", "cluster-sg"):
            aliases = self.ctx.aliases.setdefault(value.key, [])
            alias = GroupRef("parameter", name, self.prefix.rstrip("."))
            if alias not in aliases:
                aliases.append(alias)

    def _given_value(self, name: str, decl: BlockDecl, kind: str) -> object:
        if self.call is None:
            raw = self.values.get(name, _MISSING)
            if isinstance(raw, str) and not isinstance(raw, Tagged) and kind in _COLLECTION_KINDS:
                return self._parse_cli_value(name, raw, decl)
            return raw
        parent, call_decl, bindings = self.call
        attribute = call_decl.block.attributes.get(name)
        if attribute is None:
            return _MISSING
        label = f"{self.prefix}var.{name}"
        with self.ctx.evaluating(label, call_decl.file, attribute.line):
            try:
                value = evaluate(attribute.expr, parent.scope(call_decl.file, bindings))
                self._note_alias(name, value)
                return value
            except EvalError as exc:
                self.ctx.note(f"{call_decl.file}:{attribute.line}: {label}: {exc.message}")
                return Unknown(f"{label} could not be evaluated: {exc.message}")

    def _parse_cli_value(self, name: str, text: str, decl: BlockDecl) -> object:
        try:
            return evaluate_constant(parse_expression(text), f"<value of {name}>")
        except (HclSyntaxError, EvalError) as exc:
            raise ScanError(
                decl.file, f"value given for variable {name!r} is not a valid HCL value: {exc}", decl.line
            ) from None

    def _constant(self, node: ast.Node, decl: BlockDecl, what: str) -> object:
        try:
            return evaluate_constant(node, decl.file)
        except EvalError as exc:
            raise ScanError(decl.file, f"{what} must be a literal value: {exc.message}", node.line) from None

    def _hint(self, name: str) -> str:
        if self.call is None:
            return f"pass --var {name}=... or a --var-file that sets it"
        return f"the call of {self.prefix.rstrip('.')} does not set {name}"

    # -- locals and outputs ---------------------------------------------------------------
    def local(self, name: str) -> object:
        return self._memoized(f"local.{name}", lambda: self._local(name))

    def _local(self, name: str) -> object:
        decl = self.config.locals.get(name)
        if decl is None:
            return Unknown(f"local.{name} is not declared in {self.config.directory}")
        return self._definition(f"{self.prefix}local.{name}", decl.file, decl.attribute.line, decl.attribute.expr)

    def output(self, name: str) -> object:
        return self._memoized(f"output.{name}", lambda: self._output(name))

    def _output(self, name: str) -> object:
        decl = self.config.outputs.get(name)
        if decl is None or "value" not in decl.block.attributes:
            raise EvalError(f"module {self.prefix.rstrip('.')} has no output {name!r}")
        value = decl.block.attributes["value"]
        return self._definition(f"{self.prefix}output.{name}", decl.file, value.line, value.expr)

    def _definition(self, label: str, file: str, line: int, expr: ast.Node) -> object:
        with self.ctx.evaluating(label, file, line):
            try:
                return evaluate(expr, self.scope(file))
            except EvalError as exc:
                self.ctx.note(f"{file}:{line}: {label}: {exc.message}")
                return Unknown(f"{label} could not be evaluated: {exc.message}")

    # -- resources and data sources -------------------------------------------------------
    def resource(self, rtype: str, name: str) -> object:
        return self._memoized(f"resource.{rtype}.{name}", lambda: self._resource(rtype, name))

    def _resource(self, rtype: str, name: str) -> object:
        decl = self.config.resources.get(f"{rtype}.{name}")
        if decl is None:
            return Unknown(f"{rtype}.{name} is not declared in {self.config.directory}")
        expansion = self.expand(decl, f"{self.prefix}{rtype}.{name}")
        condition = self.condition or expansion.condition
        instances = [
            ResourceInstance(self, decl, rtype, name, suffix, b, condition) for suffix, _k, b in expansion.instances
        ]
        return shape(expansion, instances)

    def instances(self, address: str) -> tuple[Expansion, list[ResourceInstance]]:
        """The expansion of a resource block and its instances (for the model)."""
        rtype, name = address.split(".", 1)
        value = self.resource(rtype, name)
        expansion = self.expand(self.config.resources[address], f"{self.prefix}{address}")
        if isinstance(value, StandIn):
            value = value.instance
        if isinstance(value, ResourceInstance):
            return expansion, [value]
        if isinstance(value, list):
            return expansion, [v for v in value if isinstance(v, ResourceInstance)]
        if isinstance(value, dict):
            return expansion, [v for v in value.values() if isinstance(v, ResourceInstance)]
        return expansion, []

    def data_source(self, dtype: str, name: str) -> object:
        address = f"data.{dtype}.{name}"
        key = f"data:{self.ctx.root_dir}:{self.prefix}{address}"
        hint = "a data source is read at apply time; pass the value it returns to settle this"
        return Ref("data", key, f"{self.prefix}{address}", hint)

    def expand(self, decl: BlockDecl, what: str) -> Expansion:
        cached = self._expansions.get(id(decl))
        if cached is None:
            cached = self._expansions[id(decl)] = expand(decl, what, self.scope(decl.file))
        return cached

    # -- child modules --------------------------------------------------------------------
    def module_call(self, name: str) -> object:
        decl = self.config.modules.get(name)
        if decl is None:
            return Unknown(f"module.{name} is not declared in {self.config.directory}")
        group = self.children(name)
        if group.expansion is None:
            return _UnevaluatedModule(f"{self.prefix}module.{name}", group.source)
        return shape(group.expansion, [_ModuleOutputs(child) for child in group.instances])

    def children(self, name: str) -> ChildGroup:
        if name not in self._children:
            self._children[name] = self._load_children(name)
        return self._children[name]

    def _unevaluated(self, label: str, source: str, decl: BlockDecl, why: str) -> None:
        """Record a module that may create clusters, node groups or rules: the scan is incomplete there.

        Judged by the module's own name and source (not its parents'), and only when it has instances."""
        own = f"{label.rsplit('module.', 1)[-1]} {source.rsplit('//', 1)[-1]}"
        if not TERRAFORM_MODULE.may_hold_eks(own, own):
            return
        try:
            if not self.expand(decl, label).instances:
                return
        except ScanError:
            pass  # the count/for_each error is reported when the module is evaluated; here it is unknown
        self.ctx.unevaluated.append(
            Unresolved(
                f"{label} (source {source}) is not evaluated because {why}; the clusters, node groups and "
                "security group rules it creates are not verified",
                Provenance(decl.file, decl.line, label),
                "run `terraform init` before the scan (its modules are then read from .terraform/modules), "
                "or scan a local copy of the module",
            )
        )

    def _load_children(self, name: str) -> ChildGroup:
        decl = self.config.modules[name]
        label = f"{self.prefix}module.{name}"
        source_attr = decl.block.attributes.get("source")
        source = force(self._constant(source_attr.expr, decl, "module source")) if source_attr else None
        if not isinstance(source, str):
            self.ctx.note(f"{label} (source unknown) not evaluated: its source is not a literal string")
            return ChildGroup("?")
        key = f"{self.key}.{name}" if self.key else name
        if source.startswith(("./", "../")):
            directory = normalize_dir(posixpath.join(self.config.directory, source))
        elif key in self.ctx.installed:
            directory = self.ctx.installed[key]
            self.ctx.note(f"{label} (source {source}) read from {directory}, where `terraform init` installed it")
        else:
            self.ctx.note(f"{label} (source {source}) not evaluated")
            self._unevaluated(label, source, decl, "it is not a local module and `terraform init` has not installed it")
            return ChildGroup(source)
        files = module_files(directory)
        if not files:
            self.ctx.note(f"{label} (source {source}) not evaluated: directory {directory} not found")
            self._unevaluated(label, source, decl, f"its directory {directory} is not there")
            return ChildGroup(source)
        if directory in self.chain or len(self.chain) > MAX_MODULE_DEPTH:
            self.ctx.note(f"{label} (source {source}) not evaluated: modules nest too deeply or recursively")
            return ChildGroup(source)
        expansion = self.expand(decl, label)
        group = ChildGroup(source, expansion)
        if expansion.unknown is not None:
            self.ctx.note(f"{decl.file}:{decl.line}: {expansion.unknown.what}; evaluated once, as a stand-in")
        config = self.ctx.config(directory, files)
        condition = self.condition or expansion.condition
        for suffix, _key, bindings in expansion.instances:
            call = (self, decl, bindings)
            child = ModuleInstance(
                self.ctx, config, f"{label}{suffix}.", call, chain=self.chain, condition=condition, key=key
            )
            group.instances.append(child)
        return group

    def all_instances(self) -> Iterator[ModuleInstance]:
        yield self
        for name in self.config.modules:
            for child in self.children(name).instances:
                yield from child.all_instances()


class _ModuleOutputs(Lazy):
    def __init__(self, module: ModuleInstance) -> None:
        self.module = module

    def get_attr(self, name: str) -> object:
        return self.module.output(name)

    def materialize(self) -> object:
        return {name: self.module.output(name) for name in self.module.config.outputs}

    def describe(self) -> str:
        return self.module.prefix.rstrip(".")


class _UnevaluatedModule(Lazy):
    def __init__(self, label: str, source: str) -> None:
        self.label = label
        self.source = source

    def _unknown(self, what: str) -> Unknown:
        return Unknown(
            what, f"module {self.label} (source {self.source}) is not evaluated; scan that module to settle this"
        )

    def get_attr(self, name: str) -> object:
        return self._unknown(f"{self.label}.{name}")

    def index(self, key: object) -> object:
        return self

    def materialize(self) -> object:
        return self._unknown(self.label)

    def describe(self) -> str:
        return self.label
