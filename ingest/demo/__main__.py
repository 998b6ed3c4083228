"""`python -m ingest.demo [--ports 18081,18082,18083,18084] [--delay 30]`: serve the sample site until Ctrl-C."""

from __future__ import annotations

import argparse

from ingest.demo.site import PREFERRED_PORTS, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ingest.demo", description=__doc__)
    parser.add_argument("--ports", default=",".join(map(str, PREFERRED_PORTS)),
                        help="preferred ports, one per outlet (busy ones fall back to free ports)")
    parser.add_argument("--delay", type=float, default=30.0, help="seconds the timeout feed keeps a client waiting")
    args = parser.parse_args(argv)
    serve([int(p) for p in args.ports.split(",") if p.strip()], timeout_feed_delay=args.delay)


if __name__ == "__main__":
    main()
