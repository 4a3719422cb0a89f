"""Charts as inline SVG, drawn on the server: no script, no font download, no CDN.

Each function returns an SVG string (already escaped) that scales to the
width of a phone screen (``viewBox`` plus ``width: 100%`` in the stylesheet).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

PALETTE = ("#2e7d32", "#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#558b2f")
BAR_H = 18
GAP = 6
LABEL_W = 110
WIDTH = 360


def _empty(message: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} 40" role="img" aria-label="{escape(message)}">'
        f'<text x="8" y="24" class="muted">{escape(message)}</text></svg>'
    )


def horizontal_bars(title: str, rows: list[tuple[str, list[tuple[str, int]]]], legend: list[str]) -> str:
    """Stacked horizontal bars: one row per label, one segment per series (colour by legend position)."""
    if not rows or not any(n for _, segments in rows for _, n in segments):
        return _empty("所选期间无数据")
    total_max = max(sum(n for _, n in segments) for _, segments in rows) or 1
    plot_w = WIDTH - LABEL_W - 40
    legend_h = 18 * ((len(legend) + 2) // 3) if len(legend) > 1 else 0
    height = legend_h + len(rows) * (BAR_H + GAP) + GAP
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">']
    parts.append(f"<title>{escape(title)}</title>")
    if len(legend) > 1:
        for i, name in enumerate(legend):
            lx, ly = 8 + (i % 3) * 118, 4 + (i // 3) * 18
            parts.append(f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
            parts.append(f'<text x="{lx + 14}" y="{ly + 9}" class="legend">{escape(name)}</text>')
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(legend)}
    for row, (label, segments) in enumerate(rows):
        y = legend_h + GAP + row * (BAR_H + GAP)
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 13}" text-anchor="end" class="label">{escape(label[:8])}</text>')
        x = float(LABEL_W)
        total: int = 0
        for series, n in segments:
            if n <= 0:
                continue
            w = plot_w * n / total_max
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{BAR_H}" fill="{colour.get(series, PALETTE[0])}">'
                f"<title>{escape(label)} {escape(series)}: {n}</title></rect>"
            )
            x += w
            total += n
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 13}" class="value">{total}</text>')
    parts.append("</svg>")
    return "".join(parts)


def uses_by_village_month(stats: Mapping[str, Any], max_months: int = 6) -> str:
    """Seal uses per village, stacked by month (the latest months of the period)."""
    months = [p for p in stats["periods"] if any(p in v["uses"] for v in stats["villages"])][-max_months:]
    rows = [
        (v["village"], [(m, v["uses"].get(m, 0)) for m in months])
        for v in sorted(stats["villages"], key=lambda v: -v["uses_total"])
    ]
    return horizontal_bars("各村每月用印次数", rows, months)


def flags_by_kind(stats: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """Flags (anomalies) by kind over the period."""
    rows = [(names.get(kind, kind), [("flags", n)]) for kind, n in stats["flags_by_kind"].items()]
    return horizontal_bars("异常按类别", rows, ["flags"])
