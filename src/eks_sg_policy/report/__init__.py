"""Reporters: plain functions from a Report to text. They never compute verdicts.

A format's module is imported only when that format is asked for, to keep start-up short."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api import Report

Renderer = Callable[["Report", bool], str]

# format name -> (module, function)
_RENDERERS: dict[str, tuple[str, str]] = {
    "text": ("text", "render_text"),
    "json": ("json_report", "render_json"),
    "sarif": ("sarif", "render_sarif"),
    "junit": ("junit", "render_junit"),
    "github": ("github", "render_github"),
    "markdown": ("markdown", "render_markdown"),
}


def renderer(name: str) -> Renderer:
    module, function = _RENDERERS[name]
    found: Renderer = getattr(import_module(f"{__name__}.{module}"), function)
    return found


class _Formats(Mapping[str, Renderer]):
    """The renderers by format name, each imported on first use."""

    def __getitem__(self, name: str) -> Renderer:
        return renderer(name)

    def __iter__(self) -> Iterator[str]:
        return iter(_RENDERERS)

    def __len__(self) -> int:
        return len(_RENDERERS)


FORMATS: Mapping[str, Renderer] = _Formats()
