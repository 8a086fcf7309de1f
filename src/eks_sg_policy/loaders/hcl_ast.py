"""The syntax tree of HCL expressions and templates, as produced by `hcl_expr`.

Every node carries the 1-based line it starts on, so that a value built from it (an object
literal, a rule in an attribute list) can point back at its source. Nodes hold no file name:
parse results are cached per file content, and the evaluator knows which file it is reading.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Node:
    line: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: bool | int | float | str | None


@dataclass(frozen=True, slots=True)
class Template(Node):
    """A string template; `parts` are literal text or nodes (interpolations, directives)."""

    parts: tuple[str | Node, ...]


@dataclass(frozen=True, slots=True)
class TemplateIf(Node):
    condition: Node
    then_parts: tuple[str | Node, ...]
    else_parts: tuple[str | Node, ...]


@dataclass(frozen=True, slots=True)
class TemplateFor(Node):
    key_var: str | None
    value_var: str
    collection: Node
    body: tuple[str | Node, ...]


@dataclass(frozen=True, slots=True)
class Variable(Node):
    """A root name: `var`, `local`, `aws_security_group`, `each`, a for-expression symbol."""

    name: str


@dataclass(frozen=True, slots=True)
class GetAttr(Node):
    target: Node
    name: str


@dataclass(frozen=True, slots=True)
class Index(Node):
    target: Node
    key: Node


@dataclass(frozen=True, slots=True)
class SplatAttr:
    name: str


@dataclass(frozen=True, slots=True)
class SplatIndex:
    key: Node


@dataclass(frozen=True, slots=True)
class Splat(Node):
    """`target[*].a[0]` (full) or `target.*.a` (attribute-only): `steps` apply to each element."""

    target: Node
    steps: tuple[SplatAttr | SplatIndex, ...]


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]
    expand_final: bool = False  # `f(a, list...)`


@dataclass(frozen=True, slots=True)
class TupleCons(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ObjectCons(Node):
    items: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True, slots=True)
class ForExpr(Node):
    key_var: str | None
    value_var: str
    collection: Node
    value: Node
    key: Node | None  # set for `{for ...: k => v}`
    condition: Node | None
    grouping: bool = False  # `v...`


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    condition: Node
    if_true: Node
    if_false: Node


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


def describe(node: Node) -> str:
    """A short source-like rendering of a reference or call, for messages."""
    if isinstance(node, Variable):
        return node.name
    if isinstance(node, GetAttr):
        return f"{describe(node.target)}.{node.name}"
    if isinstance(node, Index):
        key = node.key
        if isinstance(key, Literal):
            text = f'"{key.value}"' if isinstance(key.value, str) else str(key.value)
        elif isinstance(key, Template) and all(isinstance(p, str) for p in key.parts):
            text = '"' + "".join(str(p) for p in key.parts) + '"'
        else:
            text = describe(key)
        return f"{describe(node.target)}[{text}]"
    if isinstance(node, Splat):
        rest = "".join(f".{s.name}" if isinstance(s, SplatAttr) else "[...]" for s in node.steps)
        return f"{describe(node.target)}[*]{rest}"
    if isinstance(node, Call):
        return f"{node.name}(...)"
    if isinstance(node, Literal):
        return repr(node.value)
    return "expression"


def walk(node: Node) -> list[Node]:
    """Every node of a tree, depth first (iteratively: trees from user input can be deep)."""
    found: list[Node] = []
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Node):
            found.append(item)
            stack.extend(getattr(item, name) for name in item.__slots__)
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, SplatIndex):
            stack.append(item.key)
    return found


def local_references(node: Node) -> set[str]:
    """Names of the `local.X` values an expression refers to."""
    return {
        n.name
        for n in walk(node)
        if isinstance(n, GetAttr) and isinstance(n.target, Variable) and n.target.name == "local"
    }
