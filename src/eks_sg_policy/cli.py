"""Command line: argument parsing and exit codes only (0 clean, 1 findings, 2 unreadable input)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ("text", "json", "sarif", "junit", "github", "markdown")
COMMANDS = ("check", "policies")


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
            raise SystemExit(f"eks-sg-policy: error: {option} expects NAME=VALUE, got {value!r}")
        pairs[name] = text
    return pairs


def _ids(values: Sequence[str]) -> list[str]:
    return [v.strip().upper() for value in values for v in value.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="eks-sg-policy",
        description="Validate the security groups of Amazon EKS clusters "
        "in CloudFormation and Terraform against the AWS requirements, offline.",
    )
    parser.add_argument("--version", action="version", version=f"eks-sg-policy {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    check = sub.add_parser("check", help="scan templates and modules (the default command)")
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    check.add_argument("--format", "-f", choices=FORMATS, default="text")
    check.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    check.add_argument("--fail-on", choices=("error", "warning", "note", "never"), default="error")
    check.add_argument("--strict", action="store_true", help="report unverifiable requirements as errors")
    check.add_argument("--policies", action="append", default=[], metavar="DIR", help="extra policy tables")
    check.add_argument("--only", action="append", default=[], metavar="ID,...")
    check.add_argument("--skip", action="append", default=[], metavar="ID,...")
    check.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a CloudFormation parameter value"
    )
    check.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="a Terraform variable")
    check.add_argument("--var-file", action="append", default=[], metavar="FILE", help="a .tfvars(.json) file")
    check.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="map a group to a role, e.g. control-plane=ClusterControlPlaneSecurityGroup",
    )
    check.add_argument(
        "--edition", choices=("2020", "current", "all"), default="all", help="which edition of the AWS tables applies"
    )
    check.add_argument("--max-file-size", type=int, default=None, metavar="BYTES")
    check.add_argument("--verbose", "-v", action="store_true", help="list suppressed findings and skipped files")

    listing = sub.add_parser("policies", help="list the policy catalog")
    listing.add_argument("--format", "-f", choices=("text", "json"), default="text")
    listing.add_argument("--policies", action="append", default=[], metavar="DIR")
    listing.add_argument("--edition", choices=("2020", "current", "all"), default="all")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] not in COMMANDS and not args_list[0].startswith("-"):
        args_list.insert(0, "check")  # `eks-sg-policy template.yaml` means check
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        args = parser.parse_args(["check", *args_list])
    try:
        if args.command == "policies":
            return _policies(args)
        return _check(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from .api import DEFAULT_MAX_FILE_SIZE, ScanOptions, scan
    from .errors import ScanError

    roles = {name: role for role, name in _pairs(args.role, "--role").items()}
    options = ScanOptions(
        params=_pairs(args.param, "--param"),
        variables=_pairs(args.var, "--var"),
        var_files=tuple(args.var_file),
        policy_dirs=tuple(args.policies),
        only=tuple(_ids(args.only)),
        skip=tuple(_ids(args.skip)),
        strict=args.strict,
        edition=args.edition,
        roles=roles,
        max_file_size=args.max_file_size or DEFAULT_MAX_FILE_SIZE,
    )
    try:
        report = scan(args.paths or ["."], options)
    except ScanError as error:
        sys.stderr.write(f"eks-sg-policy: error: {error}\n")
        return EXIT_ERROR
    if args.format == "text":
        from .report.text import render_text, use_colour

        output = render_text(report, args.verbose, colour=use_colour() and not args.output)
    else:
        from .report import FORMATS as RENDERERS

        output = RENDERERS[args.format](report, args.verbose)
    _emit(output, args.output)
    if args.format != "text":
        for problem in report.errors:
            sys.stderr.write(f"eks-sg-policy: error: {problem}\n")
    return report.exit_code(args.fail_on)


def _emit(text: str, path: str | None) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


def _policies(args: argparse.Namespace) -> int:
    import json

    from .errors import ScanError
    from .policies import load_policies

    try:
        policies = load_policies(args.policies, args.edition)
    except ScanError as error:
        sys.stderr.write(f"eks-sg-policy: error: {error}\n")
        return EXIT_ERROR
    if args.format == "json":
        data = [
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
