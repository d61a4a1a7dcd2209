"""Prints the fuzz session's statistics: inputs, files, worst time and memory, layers reached."""

from __future__ import annotations

import pytest

from tests.fuzz.harness import LAYER_COUNTS, LAYERS, RUN_STATS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One section with how far the mutated inputs got, so a weak fuzzer shows."""
    total = sum(LAYER_COUNTS.values())
    if not total:
        return
    write = terminalreporter.write_line
    terminalreporter.section("pstlib fuzz statistics")
    write(
        f"{RUN_STATS['inputs']} mutated inputs over {len(RUN_STATS['files'])} inputs;"
        f" slowest {RUN_STATS['max_seconds']:.2f} s; peak traced memory {RUN_STATS['max_peak'] / 1e6:.1f} MB"
    )
    for layer in LAYERS:
        count = LAYER_COUNTS[layer]
        write(f"  stopped at {layer:<10} {count:>7}  {100 * count / total:5.1f}%")
    opened = total - LAYER_COUNTS["header"]
    write(f"  opened              {opened:>7}  {100 * opened / total:5.1f}%")
