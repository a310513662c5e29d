"""How numbers are written: the same strings in every format."""

from __future__ import annotations

from ablate.results import METRICS as ALL_METRICS

DASH = "—"
UNDEFINED = "undef."  # a test without a defined p-value (e.g. zero variance)
METRICS = tuple(m.name for m in ALL_METRICS if m.percent)  # the table columns one may ask for
METRIC_TITLES = {m.name: m.title for m in ALL_METRICS}


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def mean_std(mean: float | None, std: float | None) -> str:
    """'68.60 ± 0.52'; '68.60 ± —' for a single seed; '—' for none (inputs in percent)."""
    if mean is None:
        return DASH
    return f"{mean:.2f} ± {pct(std)}"


def signed(value: float | None) -> str:
    return DASH if value is None else f"{value:+.2f}"


def p_value(value: float | None) -> str:
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def times100(value: float | None) -> float | None:
    return None if value is None else 100.0 * value
