"""Parse Terraform files (`.tf`, `.tf.json`, `.tfvars`, `.tfvars.json`) into blocks with lines.

The native syntax is read by our own parsers: `hcl_body` splits a file into blocks and attributes
and parses every attribute value with `hcl_expr` in the same pass, so each block, attribute and
expression node has its true 1-based line, values are never reconstructed from a re-serialized
form, and a syntax error anywhere in the file is an error with its line and column. The JSON
syntax is read by `hcl_json`.

Parse results are cached per file content (SHA-256) for the life of the process.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..discovery import DEFAULT_MAX_FILE_SIZE, module_root, read_regular_file
from ..errors import ScanError
from ..textfile import decode
from .hcl_body import Attribute, Block, parse_body
from .hcl_expr import HclSyntaxError

__all__ = ["SUPPRESSION_COMMENT", "Attribute", "Block", "ParsedFile", "clear_cache", "parse_file", "read_text"]

# `name = "${expr}"`: an interpolation-only string, the way Terraform 0.11 wrote every expression.
_LEGACY = re.compile(r'^\s*[\w-]+\s*=\s*\[?"\$\{.*\}"\]?\s*$', re.MULTILINE)
SUPPRESSION_COMMENT = re.compile(r"(?:#|//)\s*eks-sg-policy:skip\s*=\s*(.*)$")


@dataclass(frozen=True, slots=True, eq=False)
class ParsedFile:
    """One file: its top-level blocks and attributes, and its suppression comments."""

    blocks: tuple[Block, ...] = ()
    attributes: Mapping[str, Attribute] = field(default_factory=dict)
    comments: tuple[tuple[int, str], ...] = ()  # (line, text after "skip=")
    comment_lines: frozenset[int] = frozenset()  # lines holding only a comment


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str
    line: int | None
    column: int | None


_CACHE: dict[str, ParsedFile | _Failure] = {}


def read_text(path: str) -> str:
    """The file as UTF-8 text (a BOM allowed): Terraform reads no other encoding. Only a regular file
    is read, and a link only when it stays in the tree of its module (`discovery.module_root`): a
    child module's file linked to a device or to a secret elsewhere is refused unread."""
    target = Path(path)
    data = read_regular_file(target, DEFAULT_MAX_FILE_SIZE, module_root(target.parent.resolve()))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ScanError(path, "not UTF-8 text (UTF-16; Terraform reads UTF-8 only)", line=1)
    return decode(path, data)


def parse_file(path: str, text: str | None = None) -> ParsedFile:
    """Parse a Terraform source or variables file; the format follows the file name."""
    if text is None:
        text = read_text(path)
    text = text.replace("\r\n", "\n")
    is_json = path.endswith(".json")
    digest = hashlib.sha256((("json:" if is_json else "hcl:") + text).encode("utf-8")).hexdigest()
    result = _CACHE.get(digest)
    if result is None:
        result = _CACHE[digest] = _parse_uncached(text, is_json, path)
    if isinstance(result, _Failure):
        raise ScanError(path, result.message, result.line, result.column)
    return result


def _parse_uncached(text: str, is_json: bool, path: str) -> ParsedFile | _Failure:
    try:
        if is_json:
            from .hcl_json import parse_json_config

            blocks, attributes = parse_json_config(text, tfvars=".tfvars" in path)
            return ParsedFile(tuple(blocks), attributes)
        return _parse_hcl(text)
    except ScanError as exc:
        return _Failure(exc.message, exc.line, exc.column)
    except HclSyntaxError as exc:
        return _Failure(f"syntax error: {exc.message}", exc.line, exc.column)


def _parse_hcl(text: str) -> ParsedFile | _Failure:
    try:
        attributes, blocks = parse_body(text)
    except HclSyntaxError as exc:
        hint = " (this file looks like Terraform 0.11 syntax, which is not supported)" if _LEGACY.search(text) else ""
        return _Failure(f"syntax error: {exc.message}{hint}", exc.line, exc.column)
    comments, comment_lines = _comments(text)
    return ParsedFile(tuple(blocks), attributes, comments, comment_lines)


def _comments(text: str) -> tuple[tuple[tuple[int, str], ...], frozenset[int]]:
    if "eks-sg-policy" not in text:
        return (), frozenset()
    found: list[tuple[int, str]] = []
    comment_lines: set[int] = set()
    for number, line in enumerate(text.split("\n"), start=1):
        if line.lstrip().startswith(("#", "//")):
            comment_lines.add(number)
        match = SUPPRESSION_COMMENT.search(line)
        if match:
            found.append((number, match.group(1).strip()))
    return tuple(found), frozenset(comment_lines)


def clear_cache() -> None:
    """Forget cached parse results (tests use it to measure cold parses)."""
    _CACHE.clear()
