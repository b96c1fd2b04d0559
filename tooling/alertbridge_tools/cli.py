"""``alertbridge``: the operator and developer command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alertbridge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo", help="push the Kapacitor samples through the real functions on an emulated AWS"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        from alertbridge_tools import demo  # noqa: PLC0415

        demo.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
