"""The `orderlens` command line: one sub-command module per concern.

Sub-commands are imported lazily so that `orderlens token` does not pay for Kafka imports.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# name -> module defining `register(subparsers)` which sets `func` on its parser.
_COMMANDS = {
    "carrier-simulator": "orderlens_devtools.cli.carrier_simulator",
    "dev": "orderlens_devtools.cli.dev",
    "seed": "orderlens_devtools.cli.seed",
    "tiktok": "orderlens_devtools.cli.tiktok",
    "token": "orderlens_devtools.cli.token",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orderlens", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in _COMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
