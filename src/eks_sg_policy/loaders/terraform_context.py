"""State shared by one load, and the scope where only literal values are allowed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import ScanError
from ..model import GroupRef, Unresolved
from . import hcl_ast as ast
from .hcl_eval import evaluate
from .hcl_values import EvalError
from .terraform_config import ModuleConfig, load_config, normalize_dir
from .terraform_installed import installed_modules


class LoadContext:
    """State shared by every module instance of one load: notes, files, the evaluation stack."""

    def __init__(self, root_dir: str) -> None:
        self.root_dir = normalize_dir(root_dir)
        self.cwd = os.path.abspath(root_dir)
        self.notes: dict[str, None] = {}
        self.unevaluated: list[Unresolved] = []  # modules that may create EKS resources, not evaluated
        self.aliases: dict[str, list[GroupRef]] = {}  # group key -> module variables that receive it
        self.files: dict[str, None] = {}
        self._stack: list[str] = []
        self._configs: dict[str, ModuleConfig] = {}
        self._installed: dict[str, str] | None = None

    @property
    def installed(self) -> dict[str, str]:
        """Module call key -> directory, for the modules `terraform init` installed (read on first use)."""
        if self._installed is None:
            self._installed = installed_modules(self.root_dir)
        return self._installed

    def note(self, text: str) -> None:
        self.notes[text] = None

    @contextmanager
    def evaluating(self, label: str, file: str, line: int) -> Iterator[None]:
        if label in self._stack:
            cycle = [*self._stack[self._stack.index(label) :], label]
            kind = "local values" if all(".local." in f".{c}" for c in cycle) else "references"
            raise ScanError(file, f"{kind} form a cycle: {' -> '.join(cycle)}", line)
        self._stack.append(label)
        try:
            yield
        finally:
            self._stack.pop()

    def config(self, directory: str, files: list[str]) -> ModuleConfig:
        if directory not in self._configs:
            self._configs[directory] = load_config(directory, files)
            self.files.update(dict.fromkeys(files))
        return self._configs[directory]


class ConstantScope:
    """Where no names are allowed: variable defaults, `.tfvars` values, type defaults."""

    def __init__(self, file: str) -> None:
        self._file = file

    @property
    def file(self) -> str:
        return self._file

    def lookup(self, name: str, node: ast.Node) -> object:
        raise EvalError(f"{name} cannot be referenced here (only literal values are allowed)")


def evaluate_constant(node: ast.Node, file: str) -> object:
    return evaluate(node, ConstantScope(file))
