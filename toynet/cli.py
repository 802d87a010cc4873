"""The `toynet` command (also `python -m toynet`): one subcommand per job, each with its own --help."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from toynet import check_command, demo
from toynet.grading import commands as grading_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toynet", description="toynet: gradient checking you can read.")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in (demo, check_command, grading_commands):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    return int(args.run(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
