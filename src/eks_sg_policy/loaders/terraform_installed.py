"""Modules `terraform init` installed, so that registry and git modules can be evaluated.

`terraform init` downloads every module call whose source is not a local path into
`.terraform/modules/` of the root module, and lists them in `.terraform/modules/modules.json`:
`{"Modules": [{"Key": "eks.node_group", "Source": "...", "Dir": ".terraform/modules/eks/..."}]}`,
where `Key` is the chain of module call names joined with dots and `Dir` is relative to the root
module. A scan run after `terraform init` (a CI job usually is) reads those directories; without
the manifest such modules stay unevaluated, and the scan says so.

Only directories inside `.terraform/modules/` are taken (local modules are listed too, and followed
by their source path as written): a manifest is input like any other file, and where it points
elsewhere it is not followed.
"""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path

from ..discovery import DEFAULT_MAX_FILE_SIZE, read_regular_file
from ..errors import ScanError
from ..textfile import decode
from .terraform_config import normalize_dir

__all__ = ["MANIFEST", "installed_modules"]

MANIFEST = ".terraform/modules/modules.json"
_INSTALL_DIR = ".terraform/modules"


def installed_modules(root_dir: str) -> dict[str, str]:
    """Module call key -> the directory `terraform init` installed it in (joined to `root_dir`);
    empty when the root module has not been initialized."""
    path = posixpath.join(root_dir, MANIFEST) if root_dir not in ("", ".") else MANIFEST
    if not os.path.lexists(path):
        return {}
    root = Path(root_dir or ".").resolve()
    text = decode(path, read_regular_file(Path(path), DEFAULT_MAX_FILE_SIZE, root))
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScanError(path, f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except ValueError as exc:  # numbers Python will not convert
        raise ScanError(path, f"not valid JSON: {exc}") from None
    modules = document.get("Modules") if isinstance(document, dict) else None
    if not isinstance(modules, list):
        raise ScanError(path, 'a module manifest is {"Modules": [{"Key": ..., "Dir": ...}, ...]}')
    installed: dict[str, str] = {}
    allowed = (root / _INSTALL_DIR).resolve()
    for entry in modules:
        key, directory = (entry.get("Key"), entry.get("Dir")) if isinstance(entry, dict) else (None, None)
        if not isinstance(key, str) or not isinstance(directory, str):
            raise ScanError(path, "each module of the manifest needs a Key and a Dir (strings)")
        if not key:
            continue  # the root module itself
        joined = normalize_dir(posixpath.join(root_dir, directory))
        real = Path(joined).resolve()
        if allowed in real.parents:  # local modules are listed too: their source path is followed as written
            installed[key] = joined
    return installed
