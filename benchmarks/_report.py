"""What every benchmark shares: its command line and its result block in docs/benchmarks.md."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def run_benchmark(name: str, doc: str | None, measure: Callable[[int], str], default_rounds: int) -> None:
    """Parse ``--rounds``/``--update-docs``, run ``measure(rounds)``, print and store its block.

    ``measure`` returns the markdown block; with ``--update-docs`` it replaces what
    stands between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` in the docs page.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=default_rounds)
    parser.add_argument("--update-docs", action="store_true", help=f"rewrite the result block in {DOCS_PAGE}")
    args = parser.parse_args()
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = "\n".join([begin, measure(args.rounds), end])
    print(block)
    if args.update_docs:
        page = DOCS_PAGE.read_text()
        head, found, rest = page.partition(begin)
        if not found:
            raise SystemExit(f"{DOCS_PAGE} has no '{begin}' marker to update")
        _, _, tail = rest.partition(end)
        DOCS_PAGE.write_text(head + block + tail)
