"""Command line: argument parsing and exit codes only (0 clean, 1 findings, 2 unreadable input)."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import __version__

if TYPE_CHECKING:
    from .api import Report, ScanOptions
    from .config import Config

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ("text", "json", "sarif", "junit", "github", "markdown")
COMMANDS = ("check", "baseline", "policies", "explain")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_ERROR)


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise UsageError(f"{option} expects NAME=VALUE, got {value!r}")
        pairs[name] = text
    return pairs


def _template_urls(values: Sequence[str]) -> dict[str, str]:
    """`--template-url URL=FILE`: a URL holds `=` only in its query, so the last `=` splits."""
    pairs: dict[str, str] = {}
    for value in values:
        url, sep, path = value.rpartition("=")
        if not sep or not url or not path:
            raise UsageError(f"--template-url expects URL=FILE, got {value!r}")
        pairs[url] = path
    return pairs


def _ids(values: Sequence[str]) -> list[str]:
    return [v.strip().upper() for value in values for v in value.split(",") if v.strip()]


def _add_scan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    parser.add_argument("--config", metavar="FILE", help="configuration file (default: found by walking up)")
    parser.add_argument("--strict", action="store_true", default=None, help="unverifiable requirements are errors")
    parser.add_argument("--policies", action="append", default=[], metavar="DIR", help="extra policy tables")
    parser.add_argument("--only", action="append", default=[], metavar="ID,...")
    parser.add_argument("--skip", action="append", default=[], metavar="ID,...")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="CloudFormation parameter")
    parser.add_argument(
        "--stack-name",
        action="append",
        default=[],
        metavar="FILE=NAME",
        help="the stack a template is deployed as (for ${AWS::StackName} in exports)",
    )
    parser.add_argument(
        "--template-url",
        action="append",
        default=[],
        metavar="URL=FILE",
        help="the template file a nested stack's TemplateURL names",
    )
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="Terraform variable")
    parser.add_argument("--var-file", action="append", default=[], metavar="FILE", help="a .tfvars(.json) file")
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="map a group to a role, e.g. control-plane=ClusterControlPlaneSecurityGroup",
    )
    parser.add_argument(
        "--edition",
        choices=("2020", "current", "all"),
        default=None,
        help="which edition of the AWS tables applies (default: all)",
    )
    parser.add_argument("--max-file-size", type=int, default=None, metavar="BYTES")
    parser.add_argument("--verbose", "-v", action="store_true", help="list suppressed findings and skipped files")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="eks-sg-policy",
        description="Validate the security groups of Amazon EKS clusters "
        "in CloudFormation and Terraform against the AWS requirements, offline.",
    )
    parser.add_argument("--version", action="version", version=f"eks-sg-policy {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    check = sub.add_parser("check", help="scan templates and modules (the default command)")
    _add_scan_options(check)
    check.add_argument("--format", "-f", choices=FORMATS, default="text")
    check.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    check.add_argument("--fail-on", choices=("error", "warning", "note", "never"), default=None)
    check.add_argument("--baseline", metavar="FILE", help="report only findings that are not in FILE")

    baseline = sub.add_parser("baseline", help="record the current findings so that later checks report new ones")
    _add_scan_options(baseline)
    baseline.add_argument("--output", "-o", metavar="FILE", required=True)

    explain = sub.add_parser("explain", help="who can reach whom, per cluster, against each requirement")
    _add_scan_options(explain)
    explain.add_argument("--diagram", choices=("mermaid", "dot"), help="print a diagram instead of the table")
    explain.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")

    listing = sub.add_parser("policies", help="list the policy catalog")
    listing.add_argument("--format", "-f", choices=("text", "json"), default="text")
    listing.add_argument("--policies", action="append", default=[], metavar="DIR")
    listing.add_argument("--edition", choices=("2020", "current", "all"), default="all")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # One short-lived scan builds many objects and few cycles: the cyclic collector would mostly rescan
    # the model over and over (a third of the time on large inputs). Reference counting still frees.
    gc.disable()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] not in COMMANDS and not args_list[0].startswith("-"):
        args_list.insert(0, "check")  # `eks-sg-policy template.yaml` means check
    if not args_list:
        args_list = ["check"]
    args = build_parser().parse_args(args_list)
    from .errors import ScanError

    try:
        if args.command == "policies":
            return _policies(args)
        if args.command == "baseline":
            return _baseline(args)
        if args.command == "explain":
            return _explain(args)
        return _check(args)
    except (ScanError, UsageError) as error:
        sys.stderr.write(f"eks-sg-policy: error: {error}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _config(args: argparse.Namespace) -> Config:
    from .config import find_config, load_config

    path = args.config or find_config((args.paths or ["."])[0])
    return load_config(path)


def _scan_options(args: argparse.Namespace, config: Config) -> ScanOptions:
    """Command-line values win over the configuration file; maps are merged."""
    from .api import ScanOptions
    from .discovery import DEFAULT_MAX_FILE_SIZE

    roles = {name: role for name, role in (config.get("roles") or {}).items()}
    roles.update({name: role for role, name in _pairs(args.role, "--role").items()})
    stack_names = {config.resolve(path): name for path, name in (config.get("stack-names") or {}).items()}
    stack_names.update(_pairs(args.stack_name, "--stack-name"))
    template_urls = {url: config.resolve(path) for url, path in (config.get("template-urls") or {}).items()}
    template_urls.update(_template_urls(args.template_url))
    return ScanOptions(
        params={**{k: str(v) for k, v in (config.get("params") or {}).items()}, **_pairs(args.param, "--param")},
        variables={**(config.get("variables") or {}), **_pairs(args.var, "--var")},
        var_files=tuple(args.var_file or [config.resolve(f) for f in config.get("var-files", [])]),
        policy_dirs=tuple([config.resolve(d) for d in config.get("policies", [])] + list(args.policies)),
        only=tuple(_ids(args.only) or _ids(config.get("only", []))),
        skip=tuple(_ids(args.skip) or _ids(config.get("skip", []))),
        strict=bool(args.strict if args.strict is not None else config.get("strict", False)),
        edition=args.edition or config.get("edition", "all"),
        roles=roles,
        stack_names=stack_names,
        template_urls=template_urls,
        max_file_size=args.max_file_size or config.get("max-file-size") or DEFAULT_MAX_FILE_SIZE,
    )


def _run_scan(args: argparse.Namespace, matrix: bool = False) -> tuple[Report, Config]:
    from dataclasses import replace

    from .api import scan

    config = _config(args)
    options = replace(_scan_options(args, config), matrix=matrix)
    return scan(args.paths or ["."], options), config


def _check(args: argparse.Namespace) -> int:
    report, config = _run_scan(args, matrix=args.format == "markdown")
    baseline = args.baseline or (config.resolve(config.get("baseline")) if config.get("baseline") else None)
    if baseline:
        from .baseline import apply_baseline, load_baseline

        report = apply_baseline(report, load_baseline(baseline))
    output = _render(report, args.format, args.verbose, to_terminal=not args.output)
    _emit(output, args.output)
    if args.format != "text":
        for problem in report.errors:
            sys.stderr.write(f"eks-sg-policy: error: {problem}\n")
    return report.exit_code(args.fail_on or config.get("fail-on", "error"))


def _render(report: Report, fmt: str, verbose: bool, to_terminal: bool) -> str:
    if fmt == "text":
        from .report.text import render_text, use_colour

        return render_text(report, verbose, colour=to_terminal and use_colour())
    from .report import renderer

    return renderer(fmt)(report, verbose)


def _explain(args: argparse.Namespace) -> int:
    from .report.diagram import render_dot, render_matrix_text, render_mermaid

    report, _ = _run_scan(args, matrix=True)
    renderers = {"mermaid": render_mermaid, "dot": render_dot, None: render_matrix_text}
    _emit(renderers[args.diagram](report.matrices), args.output)
    for problem in report.errors:
        sys.stderr.write(f"eks-sg-policy: error: {problem}\n")
    return EXIT_ERROR if report.errors else EXIT_OK


def _baseline(args: argparse.Namespace) -> int:
    from .baseline import write_baseline

    report, _ = _run_scan(args)
    if report.errors:
        for problem in report.errors:
            sys.stderr.write(f"eks-sg-policy: error: {problem}\n")
        sys.stderr.write("eks-sg-policy: error: no baseline written: some files could not be read\n")
        return EXIT_ERROR
    count = write_baseline(report, args.output)
    sys.stdout.write(f"eks-sg-policy: wrote {count} finding(s) to {args.output}\n")
    return EXIT_OK


def _emit(text: str, path: str | None) -> None:
    if path:
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)


def _policies(args: argparse.Namespace) -> int:
    import json

    from .policies import load_policies

    policies = load_policies(args.policies, args.edition)
    if args.format == "json":
        data: list[dict[str, Any]] = [
            {
                "id": p.id,
                "title": p.title,
                "severity": p.severity,
                "kind": p.kind,
                "check": dict(p.check),
                "why": p.why,
                "rows": [r.as_dict() for r in p.rows],
            }
            for p in policies.policies
        ]
        sys.stdout.write(json.dumps({"version": 1, "policies": data}, indent=2) + "\n")
        return EXIT_OK
    for policy in policies.policies:
        sys.stdout.write(f"{policy.id}  {policy.severity:<7}  {policy.title}\n")
        for row in policy.rows:
            sys.stdout.write(f"        {row.edition:<7}  {row.table}: {row.row}\n")
    return EXIT_OK
