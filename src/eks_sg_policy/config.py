"""The configuration file: `.eks-sg-policy.yaml` (or `[tool.eks-sg-policy]` in `pyproject.toml`),
found by walking up from the scanned path. Paths in it are relative to the file that names them."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .errors import ScanError
from .policies import load_plain_yaml

# Package data (policy tables, schemas) sits next to the code; importlib.resources would cost more to import.
_PACKAGE = Path(__file__).resolve().parent

CONFIG_NAMES = (".eks-sg-policy.yaml", ".eks-sg-policy.yml")


@dataclass(frozen=True, slots=True)
class Config:
    path: str | None = None  # where it was read from; None: no file
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def resolve(self, relative: str) -> str:
        """A path written in the file, as seen from the current directory."""
        if self.path is None or Path(relative).is_absolute():
            return relative
        return str(Path(self.path).parent / relative)


def find_config(start: str) -> Path | None:
    here = Path(start).resolve()
    directory = here if here.is_dir() else here.parent
    for folder in (directory, *directory.parents):
        for name in CONFIG_NAMES:
            if (folder / name).is_file():
                return folder / name
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _pyproject_section(pyproject) is not None:
            return pyproject
    return None


def load_config(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    path = Path(path)
    shown = str(path)
    if path.name == "pyproject.toml":
        values = _pyproject_section(path) or {}
    else:
        try:
            values = load_plain_yaml(path.read_text("utf-8"), shown) or {}
        except OSError as exc:
            raise ScanError(shown, f"cannot read configuration: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ScanError(
                shown, f"invalid YAML: {getattr(exc, 'problem', exc)}", mark.line + 1 if mark else None
            ) from None
    if not isinstance(values, dict):
        raise ScanError(shown, "the configuration must be a mapping of option names to values")
    _validate(shown, values)
    return Config(shown, values)


def _pyproject_section(path: Path) -> dict[str, Any] | None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScanError(str(path), f"cannot read pyproject.toml: {exc}") from None
    section = data.get("tool", {}).get("eks-sg-policy")
    return section if isinstance(section, dict) else None


@cache
def _schema() -> dict[str, Any]:
    text = (_PACKAGE / "schemas" / "config.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _validate(shown: str, values: dict[str, Any]) -> None:
    import jsonschema

    errors = sorted(jsonschema.Draft7Validator(_schema()).iter_errors(values), key=lambda e: list(e.path))
    if not errors:
        return
    error = errors[0]
    if error.validator == "additionalProperties" and not error.path:
        known = ", ".join(sorted(_schema()["properties"]))
        unknown = sorted(set(values) - set(_schema()["properties"]))
        raise ScanError(shown, f"unknown option {unknown[0]!r} (known options: {known})")
    where = "/".join(str(p) for p in error.path)
    raise ScanError(shown, f"invalid value for {where!r}: {error.message}")
