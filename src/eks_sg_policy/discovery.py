"""Which inputs a scan reads: files and directories -> units (a template, a module, a plan)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ScanError
from .textfile import decode

CFN_SUFFIXES = (".yaml", ".yml", ".json", ".template")
TF_SUFFIXES = (".tf", ".tf.json")
TF_VALUE_SUFFIXES = (*TF_SUFFIXES, ".tfvars", ".tfvars.json")  # what the loader reads in a module directory
_SKIPPED_DIRS = {".git", ".terraform", "node_modules", ".venv", "venv", "__pycache__", ".tox"}


@dataclass(frozen=True, slots=True)
class Unit:
    kind: str  # "cloudformation", "terraform" or "tfplan"
    files: tuple[str, ...]
    directory: str = ""
    text: str = ""
    explicit: bool = False  # named on the command line (a parse error is then always an error)


def discover(paths: Sequence[str], max_file_size: int) -> tuple[list[Unit], list[ScanError], list[str]]:
    """Units to load, errors for unreadable inputs, and notes for what was skipped."""
    units: list[Unit] = []
    errors: list[ScanError] = []
    notes: list[str] = []
    tf_dirs: dict[str, bool] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root = path.resolve()
            for file in _walk(path):
                if file.is_symlink() and not _inside(file, root):
                    notes.append(f"{_display(file)}: a link out of the scanned directory, not followed")
                    continue
                _classify(file, False, units, errors, notes, tf_dirs, max_file_size)
        elif path.is_file():
            _classify(path, True, units, errors, notes, tf_dirs, max_file_size)
        else:
            errors.append(ScanError(str(raw), "no such file or directory"))
    for directory in sorted(tf_dirs):
        members = sorted(p for p in Path(directory).iterdir() if p.name.endswith(TF_VALUE_SUFFIXES))
        problems = [(p, why) for p in members if (why := readable_size_problem(p, max_file_size)) is not None]
        errors.extend(ScanError(_display(p), why) for p, why in problems if p.is_file() or p.is_symlink())
        if problems:
            continue
        files = tuple(_display(p) for p in members if p.name.endswith(TF_SUFFIXES))
        units.append(Unit("terraform", files, directory=directory, explicit=tf_dirs[directory]))
    return units, errors, notes


def _inside(file: Path, root: Path) -> bool:
    """Whether a link leads into `root`; a broken link or a loop counts as inside (reading it then
    reports the problem with the file's name)."""
    try:
        target = file.resolve(strict=True)
    except (OSError, RuntimeError):
        return True
    return target == root or root in target.parents


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, subdirs, files in os.walk(root, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        found.extend(Path(directory) / name for name in sorted(files))
    return found


def _display(path: Path) -> str:
    text = os.path.normpath(str(path))
    return text[2:] if text.startswith("./") else text


def _classify(
    path: Path,
    explicit: bool,
    units: list[Unit],
    errors: list[ScanError],
    notes: list[str],
    tf_dirs: dict[str, bool],
    max_file_size: int,
) -> None:
    name = path.name
    shown = _display(path)
    if name.endswith(TF_SUFFIXES):
        directory = _display(path.parent) or "."
        tf_dirs[directory] = tf_dirs.get(directory, False) or explicit
        return
    if not name.endswith(CFN_SUFFIXES):
        if explicit:
            errors.append(
                ScanError(
                    shown,
                    "not a CloudFormation template, Terraform file or plan JSON "
                    "(expected .yaml, .yml, .json, .template, .tf or .tf.json)",
                )
            )
        return
    try:
        size = path.stat().st_size
        if size > max_file_size:
            errors.append(ScanError(shown, f"file is {size} bytes, larger than --max-file-size {max_file_size}"))
            return
        text = decode(shown, path.read_bytes())
    except OSError as exc:
        errors.append(ScanError(shown, f"cannot read: {exc.strerror or exc}"))
        return
    except ScanError as error:
        if explicit:
            errors.append(error)
        else:
            notes.append(f"{shown}: {error.message}, skipped")
        return
    kind = "tfplan" if name.endswith(".json") and _is_plan(text) else "cloudformation"
    units.append(Unit(kind, (shown,), text=text, explicit=explicit))


def readable_size_problem(path: Path, max_file_size: int) -> str | None:
    """Why a file must not be read: not a regular file (a device, a FIFO) or larger than the limit."""
    try:
        info = path.stat()
        target = path.resolve()
    except (OSError, RuntimeError) as exc:
        return f"cannot read: {getattr(exc, 'strerror', None) or exc}"
    if target.parts[1:2] in (("proc",), ("sys",), ("dev",)):
        return "a link to a system file: not read"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, a pipe or a socket): not read"
    if info.st_size > max_file_size:
        return f"file is {info.st_size} bytes, larger than --max-file-size {max_file_size}"
    return None


def _is_plan(text: str) -> bool:
    head = text[:4096]
    return (
        '"format_version"' in head
        and ('"planned_values"' in text or '"configuration"' in text)
        and '"Resources"' not in head
    )
