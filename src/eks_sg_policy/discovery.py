"""Which inputs a scan reads: files and directories -> units (a template, a module, a plan).

Only regular files are read. Within a scanned directory, a link is followed only when its target
stays inside that directory: a link out of it (to `/proc/self/environ`, to `~/.aws/credentials`)
is refused unread, so that no message can quote what it points at. A file named on the command
line is the user's choice and may be a link anywhere, but it too must lead to a regular file; the
other files of its Terraform module, read with it, may lead anywhere in the working directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ScanError
from .textfile import decode

DEFAULT_MAX_FILE_SIZE = 20 * 1024 * 1024  # bytes; --max-file-size

CFN_SUFFIXES = (".yaml", ".yml", ".json", ".template")
TF_SUFFIXES = (".tf", ".tf.json")
TF_VALUE_SUFFIXES = (*TF_SUFFIXES, ".tfvars", ".tfvars.json")  # what the loader reads in a module directory
_SKIPPED_DIRS = {".git", ".terraform", "node_modules", ".venv", "venv", "__pycache__", ".tox"}
_SYSTEM_DIRS = (("proc",), ("sys",), ("dev",))
_OUTSIDE = "a link that points outside the scanned directory: not read"


@dataclass(frozen=True, slots=True)
class Unit:
    kind: str  # "cloudformation", "terraform" or "tfplan"
    files: tuple[str, ...]
    directory: str = ""
    text: str = ""
    explicit: bool = False  # named on the command line (a parse error is then always an error)


@dataclass(slots=True)
class _Module:
    """A Terraform module directory found by discovery, read as a whole by the loader."""

    root: Path | None  # the scanned directory its files must stay in; None: only files named by the user
    explicit: bool = False
    named: set[str] = field(default_factory=set)  # its files named on the command line


@dataclass(slots=True)
class _Found:
    max_file_size: int
    units: list[Unit] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    modules: dict[str, _Module] = field(default_factory=dict)


def discover(paths: Sequence[str], max_file_size: int) -> tuple[list[Unit], list[ScanError], list[str]]:
    """Units to load, errors for unreadable inputs, and notes for what was skipped."""
    found = _Found(max_file_size)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root = path.resolve()
            for file in _walk(path):
                _classify(file, root, found)
        elif path.exists() or (path.is_symlink() and path.name.endswith((*CFN_SUFFIXES, *TF_SUFFIXES))):
            _classify(path, None, found)  # a file, or a link to anything: _classify says why it cannot be read
        else:
            found.errors.append(ScanError(str(raw), "no such file or directory"))
    for directory in sorted(found.modules):
        _module_unit(directory, found.modules[directory], found)
    return found.units, found.errors, found.notes


def _module_unit(directory: str, module: _Module, found: _Found) -> None:
    """The unit of a module directory, unless one of the files the loader would read must not be read."""
    members = sorted(
        p for p in Path(directory).iterdir() if p.name.endswith(TF_VALUE_SUFFIXES) and not _is_directory(p)
    )
    problems = []
    bound = module.root or module_root(Path(directory).resolve())
    for member in members:
        root = None if _display(member) in module.named else bound
        why = readable_size_problem(member, found.max_file_size, root)
        if why is not None:
            problems.append(ScanError(_display(member), why))
    found.errors.extend(problems)
    if not problems:
        files = tuple(_display(p) for p in members if p.name.endswith(TF_SUFFIXES))
        found.units.append(Unit("terraform", files, directory=directory, explicit=module.explicit))


def module_root(directory: Path) -> Path:
    """Where the files of a module that the user named only by some of its files may lead: the
    working directory when the module is in it (a repository whose hook names changed files, with
    modules that link shared files), else the module's own directory."""
    cwd = Path.cwd().resolve()
    return cwd if directory == cwd or cwd in directory.parents else directory


def _is_directory(path: Path) -> bool:
    """A real directory (Terraform ignores those, whatever their name); a link is judged as a file."""
    return path.is_dir() and not path.is_symlink()


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, subdirs, files in os.walk(root, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        found.extend(Path(directory) / name for name in sorted(files))
    return found


def _display(path: Path) -> str:
    text = os.path.normpath(str(path))
    return text[2:] if text.startswith("./") else text


def _classify(path: Path, root: Path | None, found: _Found) -> None:
    """Sort one file into a unit; `root` is the scanned directory it was found in (None: named by the user)."""
    name = path.name
    shown = _display(path)
    explicit = root is None
    if name.endswith(TF_SUFFIXES):
        _add_module_file(path, root, found)
        return
    if not name.endswith(CFN_SUFFIXES):
        if explicit:
            found.errors.append(
                ScanError(
                    shown,
                    "not a CloudFormation template, Terraform file or plan JSON "
                    "(expected .yaml, .yml, .json, .template, .tf or .tf.json)",
                )
            )
        return
    try:
        text = decode(shown, read_regular_file(path, found.max_file_size, root))
    except ScanError as error:
        if explicit or isinstance(error, _Unreadable):
            found.errors.append(error)
        else:
            found.notes.append(f"{shown}: {error.message}, skipped")
        return
    kind = "tfplan" if name.endswith(".json") and _is_plan(text) else "cloudformation"
    found.units.append(Unit(kind, (shown,), text=text, explicit=explicit))


def _add_module_file(path: Path, root: Path | None, found: _Found) -> None:
    directory = _display(path.parent) or "."
    module = found.modules.setdefault(directory, _Module(root))
    if root is None:
        module.explicit = True
        module.named.add(_display(path))
    elif module.root is None:
        module.root = root


class _Unreadable(ScanError):
    """A file that is not read at all (as opposed to one read and found not to be text)."""


def read_regular_file(path: Path, max_file_size: int, root: Path | None = None) -> bytes:
    """The bytes of a regular file of at most `max_file_size` bytes, or a ScanError naming the file
    for anything `readable_size_problem` refuses. Opened without blocking, and read only if what was
    opened is the very file that was checked: a FIFO cannot stall the scan, and a link swapped
    between the check and the read is not followed."""
    shown = _display(path)
    checked = _checked(path, root, max_file_size)
    if isinstance(checked, str):
        raise _Unreadable(shown, checked)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise _Unreadable(shown, f"cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if (opened.st_dev, opened.st_ino) != (checked.st_dev, checked.st_ino) or not stat.S_ISREG(opened.st_mode):
            raise _Unreadable(shown, "the file changed while it was read: not read")
        data = handle.read(max_file_size + 1)
    if len(data) > max_file_size:
        raise _Unreadable(shown, f"file is larger than --max-file-size {max_file_size}")
    return data


def readable_size_problem(path: Path, max_file_size: int, root: Path | None = None) -> str | None:
    """Why a file must not be read, or None: it does not lead to a regular file (a device, a FIFO, a
    socket, a broken link, a loop of links), it leads out of `root` (when given) or to a system file,
    or it is larger than the limit. Nothing is opened: only the file's metadata is looked at."""
    checked = _checked(path, root, max_file_size)
    return checked if isinstance(checked, str) else None


def _checked(path: Path, root: Path | None, max_file_size: int) -> os.stat_result | str:
    """The status of the regular file `path` leads to, or why it must not be read."""
    try:
        info = path.stat()  # follows links: a loop or a broken link fails here
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    target = Path(os.path.realpath(path))
    if root is not None and not (target == root or root in target.parents):
        return _OUTSIDE
    if target.parts[1:2] in _SYSTEM_DIRS:
        return "a link to a system file: not read"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, a pipe or a socket): not read"
    if info.st_size > max_file_size:
        return f"file is {info.st_size} bytes, larger than --max-file-size {max_file_size}"
    return info


def _is_plan(text: str) -> bool:
    head = text[:4096]
    return (
        '"format_version"' in head
        and ('"planned_values"' in text or '"configuration"' in text)
        and '"Resources"' not in head
    )
