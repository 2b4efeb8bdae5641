"""Percentiles and the one-line summaries the benchmarks print."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

PERCENTILES = (("median", 50.0), ("p95", 95.0), ("p99", 99.0))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(values: Sequence[float], scale: float = 1000.0) -> str:
    """'median X ms, p95 Y ms, p99 Z ms, max W ms (n=N)'; values in seconds unless scaled."""
    if not values:
        return "no samples"
    parts = [f"{name} {percentile(values, q) * scale:.1f} ms" for name, q in PERCENTILES]
    return f"{', '.join(parts)}, max {max(values) * scale:.1f} ms (n={len(values)})"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def load_average() -> str:
    """The 1, 5 and 15-minute load averages, as `uptime` shows them."""
    return " ".join(f"{load:.1f}" for load in os.getloadavg())
