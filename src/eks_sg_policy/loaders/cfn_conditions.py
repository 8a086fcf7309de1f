"""Template conditions and `Fn::If`, three-valued: None when a condition cannot be decided.

A condition is undecidable when it compares a value known only at deploy time (a parameter with
no value, a pseudo parameter). The loader then reads the resources that depend on it once per
case, with `assuming`; `undecided_ifs` tells it which conditions an `Fn::If` met.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import ScanError
from ..model import Unresolved
from .cfn_tokens import MAX_DEPTH, SUB_VARIABLE, Evaluator, equal_text, is_unknown
from .cfn_yaml import LineDict

__all__ = ["Conditions"]


class Conditions:
    """The Conditions section of one template, evaluated through the resolver `ev`."""

    def __init__(self, file: str, conditions: LineDict, ev: Evaluator) -> None:
        self.file = file
        self.conditions = conditions
        self._ev = ev
        self._cache: dict[str, bool | None] = {}
        # Conditions taken as true or false while a resource is read once per case (see `assuming`),
        # and the undecided conditions that `Fn::If` met, so that the loader knows which cases to try.
        self._assumed: dict[str, bool] = {}
        self.undecided_ifs: dict[str, int] = {}  # condition -> line of the first Fn::If on it
        self._visiting: list[str] = []

    def condition(self, name: str, line: int) -> bool | None:
        """A named condition, three-valued: None when it cannot be decided."""
        if not isinstance(name, str) or name not in self.conditions:
            raise ScanError(self.file, f"unknown condition '{name}'", line=line)
        if name in self._assumed:
            return self._assumed[name]
        if name in self._cache and not self._assumed:
            return self._cache[name]
        if name in self._visiting:
            cycle = " -> ".join([*self._visiting[self._visiting.index(name) :], name])
            raise ScanError(self.file, f"conditions refer to each other: {cycle}", line=line)
        if len(self._visiting) > MAX_DEPTH:
            raise ScanError(self.file, "conditions nested too deep", line=line)
        self._visiting.append(name)
        try:
            result = self._evaluate(self.conditions[name], self.conditions.key_lines.get(name, line))
        except RecursionError:
            raise ScanError(self.file, "nesting too deep", line=line) from None
        finally:
            self._visiting.pop()
        if not self._assumed:
            self._cache[name] = result
        return result

    @contextmanager
    def assuming(self, values: dict[str, bool]) -> Iterator[None]:
        """Read values as if the named (undecidable) conditions had these values."""
        saved, self._assumed = self._assumed, {**self._assumed, **values}
        try:
            yield
        finally:
            self._assumed = saved

    def hint(self, name: str) -> str:
        """`--param` settings that would decide a condition."""
        names: list[str] = []
        self._collect_refs(self.conditions.get(name), names, set())
        missing = [n for n in names if self._ev.has_no_value(n)]
        return " ".join(f"--param {n}=VALUE" for n in missing)

    def fn_if(self, arg: Any, line: int) -> Any:
        """`Fn::If`: the value of the branch the condition takes, or an `Unresolved` when undecided."""
        ev = self._ev
        if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
            raise ev.error("Fn::If takes [condition, value if true, value if false]", line)
        decided = self.condition(arg[0], line)
        if decided is None:
            self.undecided_ifs.setdefault(arg[0], line)
            what = f"Fn::If on condition {arg[0]} cannot be decided"
            return Unresolved(what, ev.provenance(line), self.hint(arg[0]))
        return ev.evaluate(arg[1] if decided else arg[2])

    def _evaluate(self, node: Any, line: int) -> bool | None:
        ev = self._ev
        line = int(getattr(node, "line", 0)) or line
        if isinstance(node, bool):
            return node
        if not (isinstance(node, dict) and len(node) == 1):
            raise ev.error("a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition", line)
        ((fn, arg),) = node.items()
        if fn == "Condition":
            return self.condition(arg, line)
        if fn == "Fn::Equals":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise ev.error("Fn::Equals takes two values", line)
            left, right = (ev.finish(ev.evaluate(v)) for v in arg)
            if is_unknown(left) or is_unknown(right):
                return None
            return equal_text(left) == equal_text(right)
        if fn == "Fn::Not":
            if not (isinstance(arg, list) and len(arg) == 1):
                raise ev.error("Fn::Not takes one condition", line)
            value = self._evaluate(arg[0], line)
            return None if value is None else not value
        if fn in ("Fn::And", "Fn::Or"):
            if not (isinstance(arg, list) and 2 <= len(arg) <= 10):
                raise ev.error(f"{fn} takes 2 to 10 conditions", line)
            values = [self._evaluate(v, line) for v in arg]
            decisive: bool = fn == "Fn::Or"  # a True decides an Or, a False decides an And
            if decisive in values:
                return decisive
            return None if None in values else not decisive
        raise ev.error(f"{fn} cannot be used in a condition", line)

    def _collect_refs(self, node: Any, names: list[str], seen: set[str]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("Ref", "Condition") and isinstance(value, str):
                    if key == "Ref" and value not in names:
                        names.append(value)
                    elif key == "Condition" and value not in seen and value in self.conditions:
                        seen.add(value)
                        self._collect_refs(self.conditions[value], names, seen)
                else:
                    self._collect_refs(value, names, seen)
        elif isinstance(node, list):
            for item in node:
                self._collect_refs(item, names, seen)
        elif isinstance(node, str) and "${" in node:
            names.extend(m.strip() for m in SUB_VARIABLE.findall(node) if m.strip() not in names)
