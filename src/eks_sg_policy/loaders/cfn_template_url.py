"""Which local file the `TemplateURL` of a nested stack (`AWS::CloudFormation::Stack`) names.

- A URL named by `--template-url URL=FILE` (config `template-urls`) is that file.
- A local path, as `aws cloudformation package`, SAM and rain take it (`./child.yaml`,
  `templates/child.yaml`, `file://...`), is relative to the directory of the parent template.
- A URL built around placeholders, as the Quick Starts write it
  (`https://${S3Bucket}.s3.${AWS::URLSuffix}/${QSS3KeyPrefix}templates/child.yaml`), names the
  literal path after its last placeholder (`templates/child.yaml`): the file with that relative path
  in the parent's directory or one of its ancestors up to the root of the scan, when exactly one exists.
- Any other URL (a remote one written in full, one computed at deploy time) names no local file.

Only a regular file inside the scanned tree is taken (a file named by `--template-url` may lie anywhere).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Located", "NotLocated", "locate", "url_tail"]

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


@dataclass(frozen=True, slots=True)
class Located:
    path: str  # as the scan shows paths: relative when the parent's path is, normalized
    how: str  # which rule found it, for the verbose note


@dataclass(frozen=True, slots=True)
class NotLocated:
    why: str  # why no local file is taken, e.g. "a remote URL"


def url_tail(url: str) -> str | None:
    """The literal path after the last placeholder of a URL; None when it has no placeholder.

    A placeholder in the host part (`https://${Bucket}.s3.amazonaws.com/templates/x.yaml`) leaves
    the whole path; one in the path (`.../${KeyPrefix}templates/x.yaml`) leaves what follows it.
    """
    matches = list(_PLACEHOLDER.finditer(url))
    if not matches:
        return None
    last = matches[-1]
    before, tail = url[: last.start()], url[last.end() :]
    scheme = _REMOTE.match(before)
    if scheme is not None and "/" not in before[scheme.end() :]:  # the placeholder is in the host
        tail = tail.partition("/")[2]
    return tail.lstrip("/")


def locate(url: str, parent: str, root: str, overrides: Mapping[str, str]) -> Located | NotLocated:
    """The file `url`, written in the template at path `parent`, names inside the tree at `root`."""
    if url in overrides:
        return _regular(os.path.normpath(overrides[url]), "named by --template-url", None)
    base = os.path.dirname(parent)
    tail = url_tail(url)
    if tail is not None:
        return _search(tail, base, root, url)
    path = url[len("file://") :] if url.lower().startswith("file://") else url
    if _REMOTE.match(path):
        return NotLocated("a remote URL names no local file")
    if not path.strip():
        return NotLocated("the URL is empty")
    return _regular(os.path.normpath(os.path.join(base, path)), "a local path", root)


def _search(tail: str, base: str, root: str, url: str) -> Located | NotLocated:
    if not tail or tail.endswith("/"):
        return NotLocated(f"no file name follows the last placeholder of {url}")
    top = Path(root).resolve()
    found: list[str] = []
    level = 0
    while True:
        directory = os.path.normpath(os.path.join(base, *[".."] * level)) if level else (base or ".")
        real = Path(directory).resolve()
        if not (real == top or top in real.parents):
            break
        candidate = os.path.normpath(os.path.join(directory, tail))
        if isinstance(_regular(candidate, "", root), Located):
            found.append(candidate)
        if real == top or real.parent == real:
            break
        level += 1
    if len(found) == 1:
        return Located(
            found[0], f"the path after the last placeholder ({tail}), found under {found[0][: -len(tail)] or '.'}"
        )
    if found:
        return NotLocated(f"the path after its last placeholder ({tail}) fits several files: {', '.join(found)}")
    return NotLocated(f"no file {tail} in the template's directory or its parents within the scanned tree")


def _regular(path: str, how: str, root: str | None) -> Located | NotLocated:
    """`path` when it is a regular file (inside `root` when one is given)."""
    try:
        real = Path(path).resolve(strict=True)
        regular = real.is_file()
    except (OSError, RuntimeError):
        return NotLocated(f"{path} does not exist")
    if root is not None:
        top = Path(root).resolve()
        if top not in real.parents:
            return NotLocated(f"{path} lies outside the scanned tree")
    if not regular:
        return NotLocated(f"{path} is not a regular file")
    return Located(path, how)
