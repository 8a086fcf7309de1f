"""Our HCL body parser against python-hcl2's lark grammar, on every `.tf`/`.tfvars` file we have.

The reference is the walker the project used before it had its own body parser: hcl2 7.x's lark
parser with `propagate_positions` splits a file into blocks and attributes, and the source text
of each expression (its lark span) is parsed by `hcl_expr` on its own. Both must give the same
blocks, labels, attribute names, lines, columns, end lines and expression trees, and a file lark
rejects must be rejected by ours at the same line, unless it is listed in LARK_REJECTS_VALID_HCL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hcl2.parser import parser as hcl2_parser
from lark.exceptions import UnexpectedInput

from eks_sg_policy.errors import ScanError
from eks_sg_policy.loaders import hcl_ast as ast
from eks_sg_policy.loaders.hcl_expr import HclSyntaxError, parse_expression
from eks_sg_policy.loaders.hcl_parse import Attribute, Block, parse_file, read_text

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
CORPUS = REPO.parent / "shared" / "corpus"

Shape = tuple[Any, ...]

# Files lark rejects although Terraform's parser (and ours) reads them, with the reason.
LARK_REJECTS_VALID_HCL = {
    "terraform-aws-eks@v1.0.0/workers.tf": "a newline inside a `${ }` interpolation, before its `}`",
}


def _hcl_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".tf", ".tfvars") and p.is_file())


def _params(root: Path) -> list[Any]:
    return [pytest.param(path, id=path.relative_to(root).as_posix()) for path in _hcl_files(root)]


FIXTURE_FILES = _params(FIXTURES)
CORPUS_FILES = (
    _params(CORPUS)
    if CORPUS.is_dir()
    else [pytest.param(None, marks=pytest.mark.skip(reason=f"shared corpus not found at {CORPUS}"), id="corpus")]
)


# -- the lark reference ----------------------------------------------------------------------


class _LarkReference:
    """Walks hcl2's lark tree: body -> attribute | block; expressions from their source spans."""

    def __init__(self, text: str) -> None:
        self.text = text

    def parse(self) -> tuple[list[Shape], list[Shape]]:
        tree = hcl2_parser().parse(self.text + "\n")
        return self.body(tree.children[0])

    def body(self, tree: Any) -> tuple[list[Shape], list[Shape]]:
        attributes: list[Shape] = []
        blocks: list[Shape] = []
        for child in tree.children:
            kind = getattr(child, "data", None)
            if kind == "attribute":
                attributes.append(self.attribute(child))
            elif kind == "block":
                blocks.append(self.block(child))
        return attributes, blocks

    def attribute(self, tree: Any) -> Shape:
        name = str(tree.children[0].children[0])
        start, end, line, column = _span(tree.children[-1])
        try:
            expr: object = parse_expression(self.text[start:end], line, column)
        except HclSyntaxError as exc:
            expr = ("not an expression", exc.message, exc.line, exc.column)
        return (name, tree.meta.line, tree.meta.column, expr)

    def block(self, tree: Any) -> Shape:
        block_type = str(tree.children[0].children[0])
        labels: list[str] = []
        for child in tree.children[1:-1]:
            kind = getattr(child, "data", None)
            if kind == "identifier":
                labels.append(str(child.children[0]))
            elif kind == "string":
                start, end, _line, _column = _span(child)
                labels.append(json.loads(self.text[start:end]))
        attributes, blocks = self.body(tree.children[-1])
        return (block_type, tuple(labels), tree.meta.line, tree.meta.end_line, attributes, blocks)


def _span(node: Any) -> tuple[int, int, int, int]:
    meta = node.meta if hasattr(node, "meta") else node
    return meta.start_pos, meta.end_pos, meta.line, meta.column


# -- our parser, in the same shape -------------------------------------------------------------


def _attribute_shape(attribute: Attribute) -> Shape:
    return (attribute.name, attribute.line, attribute.column, attribute.expr)


def _block_shape(block: Block) -> Shape:
    attributes = [_attribute_shape(a) for a in block.attributes.values()]
    blocks = [_block_shape(b) for b in block.blocks]
    return (block.type, block.labels, block.line, block.end_line, attributes, blocks)


def _compare(path: Path, lark_is_wrong: bool = False) -> None:
    text = read_text(str(path)).replace("\r\n", "\n")
    try:
        expected = _LarkReference(text).parse()
    except UnexpectedInput as exc:
        if lark_is_wrong:
            assert parse_file(str(path), text).blocks
            return
        with pytest.raises(ScanError) as caught:
            parse_file(str(path), text)
        assert caught.value.line == exc.line, caught.value.message
        return
    assert not lark_is_wrong, "lark reads this file now: remove it from LARK_REJECTS_VALID_HCL"
    parsed = parse_file(str(path), text)
    attributes = [_attribute_shape(a) for a in parsed.attributes.values()]
    assert (attributes, [_block_shape(b) for b in parsed.blocks]) == expected


@pytest.mark.parametrize("path", FIXTURE_FILES)
def test_fixture_files_parse_as_lark_parses_them(path: Path) -> None:
    _compare(path)


@pytest.mark.parametrize("path", CORPUS_FILES)
def test_corpus_files_parse_as_lark_parses_them(path: Path) -> None:
    _compare(path, path.relative_to(CORPUS).as_posix() in LARK_REJECTS_VALID_HCL)


def test_the_reference_walker_reads_blocks_attributes_and_expressions() -> None:
    text = 'resource "a" "b" {\n  x = [1, 2]\n  inner {\n  }\n}\n'
    expected = _LarkReference(text).parse()
    (block,) = parse_file("x.tf", text).blocks
    assert ([], [_block_shape(block)]) == expected
    attribute = expected[1][0][4][0]
    assert attribute == ("x", 2, 3, ast.TupleCons(2, (ast.Literal(2, 1), ast.Literal(2, 2))))
    assert expected[1][0][5] == [("inner", (), 3, 4, [], [])]


def test_the_fixture_list_is_not_empty() -> None:
    assert len(FIXTURE_FILES) >= 50
