"""The declarations of one Terraform module directory: variables, locals, resources, ..."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import ScanError
from .hcl_ast import local_references
from .hcl_parse import Attribute, Block, ParsedFile, parse_file

SOURCE_SUFFIXES = (".tf", ".tf.json")
_Decl = TypeVar("_Decl", "BlockDecl", "AttrDecl")


@dataclass(frozen=True, slots=True)
class BlockDecl:
    file: str
    block: Block

    @property
    def line(self) -> int:
        return self.block.line


@dataclass(frozen=True, slots=True)
class AttrDecl:
    file: str
    attribute: Attribute


@dataclass(slots=True)
class ModuleConfig:
    directory: str
    files: tuple[str, ...] = ()
    variables: dict[str, BlockDecl] = field(default_factory=dict)
    locals: dict[str, AttrDecl] = field(default_factory=dict)
    resources: dict[str, BlockDecl] = field(default_factory=dict)  # "type.name"
    data: dict[str, BlockDecl] = field(default_factory=dict)
    modules: dict[str, BlockDecl] = field(default_factory=dict)
    outputs: dict[str, BlockDecl] = field(default_factory=dict)
    parsed: dict[str, ParsedFile] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # override files, said in a note
    resource_types: set[str] = field(default_factory=set)


def normalize_dir(directory: str) -> str:
    text = directory.replace(os.sep, "/")
    return posixpath.normpath(text) if text else "."


def module_files(directory: str) -> list[str]:
    """The Terraform source files of a directory, sorted, as paths joined to `directory`."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [
        posixpath.join(directory, name)
        for name in names
        if name.endswith(SOURCE_SUFFIXES) and os.path.isfile(os.path.join(directory, name))
    ]


def _is_override(path: str) -> bool:
    name = posixpath.basename(path)
    stem = name[: -len(".json")] if name.endswith(".json") else name
    return stem == "override.tf" or stem.endswith("_override.tf")


def load_config(directory: str, files: Sequence[str]) -> ModuleConfig:
    config = ModuleConfig(normalize_dir(directory), tuple(files))
    for path in files:
        if _is_override(path):
            config.skipped.append(path)
            continue
        parsed = parse_file(path)
        config.parsed[path] = parsed
        for block in parsed.blocks:
            _declare(config, path, block)
    _check_local_cycles(config)
    return config


def _check_local_cycles(config: ModuleConfig) -> None:
    """Terraform rejects locals that refer to each other in a cycle, used or not."""
    graph = {
        name: sorted(local_references(d.attribute.expr) & config.locals.keys()) for name, d in config.locals.items()
    }
    done: set[str] = set()
    for start in sorted(graph):
        path: list[str] = []
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            name, index = stack.pop()
            if index == 0:
                if name in path:
                    cycle = [*path[path.index(name) :], name]
                    decl = config.locals[cycle[0]]
                    chain = " -> ".join(f"local.{n}" for n in cycle)
                    raise ScanError(decl.file, f"local values form a cycle: {chain}", decl.attribute.line)
                if name in done:
                    continue
                path.append(name)
            if index < len(graph[name]):
                stack.append((name, index + 1))
                stack.append((graph[name][index], 0))
            else:
                path.pop()
                done.add(name)


def _declare(config: ModuleConfig, path: str, block: Block) -> None:
    labels = block.labels
    if block.type == "locals":
        for name, attribute in block.attributes.items():
            _unique(config.locals, name, AttrDecl(path, attribute), f"local.{name}", attribute.line)
        return
    targets = {
        "variable": config.variables,
        "module": config.modules,
        "output": config.outputs,
    }
    if block.type in targets and len(labels) == 1:
        prefix = {"variable": "var.", "module": "module.", "output": "output."}[block.type]
        _unique(targets[block.type], labels[0], BlockDecl(path, block), prefix + labels[0], block.line)
    elif block.type in ("resource", "data") and len(labels) == 2:
        table = config.resources if block.type == "resource" else config.data
        address = f"{labels[0]}.{labels[1]}"
        shown = address if block.type == "resource" else f"data.{address}"
        _unique(table, address, BlockDecl(path, block), shown, block.line)
        if block.type == "resource":
            config.resource_types.add(labels[0])


def _unique(table: dict[str, _Decl], name: str, decl: _Decl, shown: str, line: int) -> None:
    previous = table.get(name)
    if previous is not None:
        raise ScanError(decl.file, f"{shown} is declared twice (also in {previous.file})", line)
    table[name] = decl
