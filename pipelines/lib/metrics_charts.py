"""Small inline-SVG charts for the night's report: no script, no network, the same bytes for the
same numbers. Each function returns one `<svg>` element (HTML5 inline, so no namespace URL)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from html import escape

PALETTE = ("#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d",
           "#e6ab02", "#666666")
ENTERED, LEFT, INK, GRID = "#1b9e77", "#d95f02", "#333333", "#dddddd"
FONT = 'font-family="sans-serif" font-size="11"'


def _n(v: float) -> str:
    """A coordinate, rounded so the bytes do not depend on float noise."""
    text = f"{v:.1f}"
    return "0" if text in ("0.0", "-0.0") else text.removesuffix(".0")


def _count(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def nice_ceiling(value: float, ticks: int = 4) -> tuple[float, float]:
    """An axis top at or above value and its tick step (1, 2 or 5 × 10^k)."""
    if value <= 0:
        return 1.0, 0.25
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return step * math.ceil(value / step), step


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (f'<svg class="chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
            f"<title>{escape(label)}</title>{''.join(body)}</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" {FONT}{extra}>'
            f"{escape(text)}</text>")


def _y_axis(top: float, step: float, x0: float, x1: float, y_of, fmt=_count) -> list[str]:
    parts, tick = [], 0.0
    while tick <= top + step / 2:
        y = y_of(tick)
        parts.append(f'<line x1="{_n(x0)}" y1="{_n(y)}" x2="{_n(x1)}" y2="{_n(y)}" '
                     f'stroke="{GRID}"/>')
        parts.append(_text(x0 - 4, y + 4, fmt(tick), "end"))
        tick += step
    return parts


def line_chart(label: str, series: Sequence[tuple[str, Sequence[tuple[date, float]]]],
               start: date, end: date, width: int = 760, height: int = 260) -> str:
    """One line per series over the days start..end; a legend on the right."""
    left, right, top_pad, bottom = 56, 170, 16, 30
    days = [start, date.fromordinal((start.toordinal() + end.toordinal()) // 2), end]
    first, last = start.toordinal(), end.toordinal()
    span = max(last - first, 1)
    top, step = nice_ceiling(max((v for _, ps in series for _, v in ps), default=0))
    plot_w, plot_h = width - left - right, height - top_pad - bottom

    def x_of(d: date) -> float:
        return left + (d.toordinal() - first) / span * plot_w if last > first \
            else left + plot_w / 2

    def y_of(v: float) -> float:
        return top_pad + plot_h - v / top * plot_h

    body = _y_axis(top, step, left, left + plot_w, y_of)
    for d in sorted(set(days)):
        body.append(_text(x_of(d), height - 10, d.isoformat(), "middle"))
    for i, (name, points) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        ordered = sorted(points)
        if len(ordered) == 1:
            d, v = ordered[0]
            body.append(f'<circle cx="{_n(x_of(d))}" cy="{_n(y_of(v))}" r="3" fill="{color}"/>')
        elif ordered:
            path = " ".join(f"{'M' if j == 0 else 'L'}{_n(x_of(d))},{_n(y_of(v))}"
                            for j, (d, v) in enumerate(ordered))
            body.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        ly = top_pad + 6 + i * 16
        body.append(f'<rect x="{width - right + 12}" y="{ly - 8}" width="10" height="10" '
                    f'fill="{color}"/>')
        last_value = ordered[-1][1] if ordered else 0
        body.append(_text(width - right + 28, ly + 1, f"{name} ({_count(last_value)})"))
    return _svg(width, height, label, body)


def entered_left_chart(label: str, nights: Sequence[tuple[date, int, int]], start: date,
                       end: date, width: int = 360, height: int = 150) -> str:
    """Per night from start to end, borrowers who entered (above the line) and left (below)."""
    left, right, top_pad, bottom = 40, 8, 8, 22
    top, _ = nice_ceiling(max((max(e, lf) for _, e, lf in nights), default=0), 2)
    plot_w, half = width - left - right, (height - top_pad - bottom) / 2
    mid = top_pad + half
    first = start.toordinal()
    span = max(end.toordinal() - first + 1, 1)
    bar = max(plot_w / span - 1, 1)
    body = [(f'<line x1="{left}" y1="{_n(mid)}" x2="{width - right}" y2="{_n(mid)}" '
            f'stroke="{INK}"/>'),
            _text(left - 4, top_pad + 8, f"+{_count(top)}", "end"),
            _text(left - 4, mid + half, f"-{_count(top)}", "end")]
    for d, entered, gone in nights:
        x = left + (d.toordinal() - first) / span * plot_w
        if entered:
            h = entered / top * half
            body.append(f'<rect x="{_n(x)}" y="{_n(mid - h)}" width="{_n(bar)}" '
                        f'height="{_n(h)}" fill="{ENTERED}"/>')
        if gone:
            h = gone / top * half
            body.append(f'<rect x="{_n(x)}" y="{_n(mid)}" width="{_n(bar)}" height="{_n(h)}" '
                        f'fill="{LEFT}"/>')
    body.append(_text(left, height - 6, start.isoformat()))
    body.append(_text(width - right, height - 6, end.isoformat(), "end"))
    return _svg(width, height, label, body)


def bar_groups(label: str, groups: Sequence[tuple[str, Sequence[tuple[str, float]]]],
               width: int = 760, per_group_scale: bool = False) -> str:
    """Horizontal bars under group headings. With per_group_scale, each group's longest bar
    fills the width (a funnel per campaign); otherwise one scale for all."""
    label_w, value_w, row, head = 190, 70, 18, 20
    rows = sum(len(items) for _, items in groups)
    height = rows * row + sum(head for g, _ in groups if g) + 8
    if not rows:
        return _svg(width, 40, label, [_text(8, 24, "nothing to show")])
    overall = max((v for _, items in groups for _, v in items), default=0) or 1
    plot_w = width - label_w - value_w
    body, y = [], 4.0
    for gi, (group, items) in enumerate(groups):
        if group:
            body.append(_text(4, y + 14, group, extra=' font-weight="bold"'))
            y += head
        scale = (max((v for _, v in items), default=0) or 1) if per_group_scale else overall
        color = PALETTE[gi % len(PALETTE)] if per_group_scale else PALETTE[0]
        for name, value in items:
            w = value / scale * plot_w
            body.append(_text(label_w - 6, y + 12, name, "end"))
            body.append(f'<rect x="{label_w}" y="{_n(y + 3)}" width="{_n(max(w, 0))}" '
                        f'height="{row - 6}" fill="{color}"/>')
            body.append(_text(label_w + w + 4, y + 12, _count(value)))
            y += row
    return _svg(width, int(height), label, body)


def interval_chart(label: str, rows: Sequence[tuple[str, float | None, float | None,
                                                    float | None]],
                   width: int = 760, unit: str = "pp") -> str:
    """A dot and its interval per row, around a zero line (lift, in percentage points)."""
    label_w, right, row, top_pad, bottom = 190, 60, 22, 8, 24
    height = top_pad + bottom + max(len(rows), 1) * row
    known = [v for _, *vals in rows for v in vals if v is not None]
    reach = max((abs(v) for v in known), default=0.01) or 0.01
    _, step = nice_ceiling(reach, 2)
    bound = step * math.ceil(reach / step)
    plot_w = width - label_w - right

    def x_of(v: float) -> float:
        return label_w + (v + bound) / (2 * bound) * plot_w

    zero = x_of(0)
    body = [(f'<line x1="{_n(zero)}" y1="{top_pad}" x2="{_n(zero)}" '
            f'y2="{height - bottom}" stroke="{INK}" stroke-dasharray="3,3"/>'),
            _text(label_w, height - 6, f"{-bound * 100:+.0f} {unit}"),
            _text(zero, height - 6, "0", "middle"),
            _text(width - right, height - 6, f"{bound * 100:+.0f} {unit}", "end")]
    for i, (name, estimate, low, high) in enumerate(rows):
        y = top_pad + i * row + row / 2
        body.append(_text(label_w - 6, y + 4, name, "end"))
        if estimate is None or low is None or high is None:
            body.append(_text(label_w + 4, y + 4, "no control group yet"))
            continue
        color = PALETTE[i % len(PALETTE)]
        body.append(f'<line x1="{_n(x_of(low))}" y1="{_n(y)}" x2="{_n(x_of(high))}" '
                    f'y2="{_n(y)}" stroke="{color}" stroke-width="2"/>')
        body.append(f'<circle cx="{_n(x_of(estimate))}" cy="{_n(y)}" r="4" fill="{color}"/>')
        body.append(_text(width - right + 4, y + 4, f"{estimate * 100:+.1f}"))
    return _svg(width, height, label, body)
