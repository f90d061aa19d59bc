"""`python -m devtools.grants check [--calls DIR] [--template PATH]`: exit 1 on any finding."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devtools.grants.check import check, load_calls, render
from devtools.grants.policies import Template

REPO_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.grants")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("check", help="compare recorded AWS calls with template.yaml's grants")
    run.add_argument(
        "--calls", type=Path, default=REPO_ROOT / ".grants", help="recorder output (default .grants/)"
    )
    run.add_argument("--template", type=Path, default=REPO_ROOT / "template.yaml")
    args = parser.parse_args(argv)

    records = load_calls(args.calls) if args.calls.is_dir() else []
    if not records:
        print(f"no recorded calls in {args.calls}: run the tests with GRANTS_CALLS_DIR set (make test)")
        return 2
    report = check(Template.load(args.template), records)
    print(render(report, template_name=args.template.name, calls_dir=str(args.calls)))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
