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


def render_round_trips(setting: str, single: str, decision: str, result: dict[str, float]) -> str:
    """The block of a decision-latency benchmark: single probe, concurrent decision, probes in turn.

    ``result`` holds ``rounds``, ``single_ms``, ``concurrent_ms`` and ``sequential_ms``;
    the target is a decision within two single round trips.
    """
    import time

    ratio = result["concurrent_ms"] / result["single_ms"]
    verdict = "meets" if ratio <= 2 else "MISSES"
    return "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d')}, {setting}, medians of {int(result['rounds'])} rounds.",
            "",
            "| what | median | in single round trips |",
            "|---|---|---|",
            f"| {single} | {result['single_ms']:.1f} ms | 1.00 |",
            f"| **{decision}** | **{result['concurrent_ms']:.1f} ms** | **{ratio:.2f}** |",
            f"| probing one after another + `decide()` | {result['sequential_ms']:.1f} ms "
            f"| {result['sequential_ms'] / result['single_ms']:.1f} |",
            "",
            f"Target: at most 2 single round trips. This run {verdict} it.",
        ]
    )
