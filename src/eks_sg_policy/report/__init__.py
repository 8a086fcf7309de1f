"""Reporters: plain functions from a Report to text. They never compute verdicts."""

from __future__ import annotations

from collections.abc import Callable

from ..api import Report
from .json_report import render_json
from .text import render_text

Renderer = Callable[[Report, bool], str]

FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
}
