"""The aligned text tables the benchmark scripts print."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Column = tuple[str, str, Callable[[dict[str, Any]], Any]]
"""(header, format string, getter); a getter's KeyError shows as n/a (pypff missing)."""


def render(results: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    """One row per result, the first column left-aligned and the numbers right-aligned."""
    rows = []
    for result in results:
        row = []
        for _name, fmt, get in columns:
            try:
                row.append(fmt.format(get(result)))
            except KeyError:
                row.append("n/a")
        rows.append(row)
    headers = [name for name, _fmt, _get in columns]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]
    lines = []
    for row in [headers, *rows]:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
    return "\n".join(lines)
