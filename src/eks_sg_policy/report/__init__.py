"""Reporters: plain functions from a Report to text. They never compute verdicts."""

from __future__ import annotations

from collections.abc import Callable

from ..api import Report
from .github import render_github
from .json_report import render_json
from .junit import render_junit
from .markdown import render_markdown
from .sarif import render_sarif
from .text import render_text

Renderer = Callable[[Report, bool], str]

FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "junit": render_junit,
    "github": render_github,
    "markdown": render_markdown,
}
