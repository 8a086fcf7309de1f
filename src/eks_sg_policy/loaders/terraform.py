"""Load one Terraform module directory (HCL or JSON syntax) into the model.

    load_terraform_module(directory, files, variables, var_files) -> LoadedUnit

The module is evaluated statically: variables (defaults < terraform.tfvars < *.auto.tfvars <
var files < `variables`), locals, count/for_each, dynamic blocks, functions and local child
modules. What only apply can tell (data sources, registry modules, computed attributes) stays
`Unresolved` in the model, never guessed; the notes say what was not evaluated.

Keys: a declared group is `tf:<directory>:<address>` (address with module path and instance
key, e.g. `tf:infra:module.ng["a"].aws_security_group.this[0]`), the group EKS creates for a
cluster is `cluster-sg:<cluster key>`, a variable without value `var:<directory>:<name>`, a
data source `data:<directory>:<address>`, a literal id itself.

Only `errors.ScanError` leaves this module: syntax errors (with file, line and column), broken
input (`count = -1`, a locals cycle, a suppression without reason), unreadable files.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..errors import ScanError
from .base import LoadedUnit
from .hcl_parse import parse_file
from .hcl_values import Budget, EvalError
from .terraform_config import normalize_dir
from .terraform_context import LoadContext, evaluate_constant
from .terraform_model import build_model
from .terraform_module import ModuleInstance
from .terraform_suppress import collect_suppressions

__all__ = ["load_terraform_module"]


def load_terraform_module(
    directory: str,
    files: Sequence[str],
    variables: Mapping[str, object],
    var_files: Sequence[str],
) -> LoadedUnit:
    """Evaluate the module in `directory` made of `files` (paths as they should be reported)."""
    Budget.reset()
    try:
        return _load(directory, list(files), dict(variables), list(var_files))
    except ScanError:
        raise
    except RecursionError:
        where = files[0] if files else directory
        raise ScanError(where, "expressions are nested or chained too deeply to evaluate") from None
    except Exception as exc:  # a bug must not crash a scan: report it against the module
        where = files[0] if files else directory
        raise ScanError(where, f"internal error while evaluating the module: {type(exc).__name__}: {exc}") from exc


def _load(directory: str, files: list[str], variables: dict[str, object], var_files: list[str]) -> LoadedUnit:
    ctx = LoadContext(directory)
    config = ctx.config(ctx.root_dir, files)
    for skipped in config.skipped:
        ctx.note(f"{skipped}: override files are not merged by this scan; ignored")
    values, value_files = _variable_values(ctx.root_dir, var_files)
    values.update(variables)
    for name in sorted(set(values) - set(config.variables)):
        ctx.note(f"a value is given for variable {name!r}, which {ctx.root_dir} does not declare")
    root = ModuleInstance(ctx, config, values=values)
    model = build_model(root)
    groups = tuple(replace(g, aliases=tuple(ctx.aliases.get(g.key, ()))) for g in model.security_groups)
    model = replace(model, security_groups=groups, unevaluated=tuple(ctx.unevaluated))
    suppressions = collect_suppressions(root)
    read = list(dict.fromkeys([*ctx.files, *value_files]))
    return LoadedUnit(tuple(read), model, tuple(suppressions), tuple(ctx.notes))


def _variable_values(directory: str, var_files: list[str]) -> tuple[dict[str, object], list[str]]:
    """Values from terraform.tfvars(.json), *.auto.tfvars(.json) and the given var files, in
    Terraform's order of precedence (later files win)."""
    in_dir = {posixpath.basename(p): p for p in _tfvars_files(directory)}
    automatic = [in_dir[n] for n in ("terraform.tfvars", "terraform.tfvars.json") if n in in_dir]
    automatic += sorted(p for n, p in in_dir.items() if n.endswith((".auto.tfvars", ".auto.tfvars.json")))
    values: dict[str, object] = {}
    for path in [*automatic, *var_files]:
        parsed = parse_file(path)
        for name, attribute in parsed.attributes.items():
            try:
                values[name] = evaluate_constant(attribute.expr, path)
            except EvalError as exc:
                raise ScanError(path, f"{name}: {exc.message}", attribute.line) from None
    return values, [*automatic, *var_files]


def _tfvars_files(directory: str) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [posixpath.join(normalize_dir(directory), n) for n in names if n.endswith((".tfvars", ".tfvars.json"))]
