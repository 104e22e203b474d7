"""Small, dependency-free SVG charts for the HTML report."""

from __future__ import annotations

from html import escape

__all__ = ["bar_chart", "histogram", "line_chart"]

WIDTH, HEIGHT, MARGIN = 520, 300, 56


def _frame(title: str, x_label: str, y_label: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>'
            f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="14" '
            f'font-family="sans-serif">{escape(title)}</text>'
            f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - 16}" '
            f'y2="{HEIGHT - MARGIN}" stroke="black"/>'
            f'<line x1="{MARGIN}" y1="30" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="black"/>'
            f'<text x="{WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle" font-size="12" '
            f'font-family="sans-serif">{escape(x_label)}</text>'
            f'<text x="14" y="{HEIGHT / 2}" text-anchor="middle" font-size="12" '
            f'font-family="sans-serif" transform="rotate(-90 14 {HEIGHT / 2})">'
            f'{escape(y_label)}</text>' + "".join(body) + "</svg>")


def _scale(lo, hi, a, b):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def _y_ticks(lo, hi, y, fmt):
    body = []
    for i in range(5):
        value = lo + (hi - lo) * i / 4
        body.append(f'<text x="{MARGIN - 4}" y="{y(value) + 4:.1f}" text-anchor="end" '
                    f'font-size="10" font-family="sans-serif">{fmt(value)}</text>')
    return body


def bar_chart(title, labels, values, y_label, *, lo=None, hi=None, fmt="{:.4f}".format):
    lo = min(values) * 0.98 if lo is None else lo
    hi = max(values) * 1.005 if hi is None else hi
    y = _scale(lo, hi, HEIGHT - MARGIN, 34)
    slot = (WIDTH - MARGIN - 20) / max(len(values), 1)
    body = _y_ticks(lo, hi, y, fmt)
    for i, (label, value) in enumerate(zip(labels, values)):
        x = MARGIN + 10 + i * slot
        top = y(value)
        body.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{HEIGHT - MARGIN - top:.1f}" fill="#4a78b5"/>')
        body.append(f'<text x="{x + slot * 0.35:.1f}" y="{top - 4:.1f}" text-anchor="middle" '
                    f'font-size="10" font-family="sans-serif">{fmt(value)}</text>')
        body.append(f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - MARGIN + 14}" '
                    f'text-anchor="middle" font-size="10" font-family="sans-serif">'
                    f'{escape(label)}</text>')
    return _frame(title, "", y_label, body)


def histogram(title, values, x_label, bins=30):
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins or 1
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    y = _scale(0, max(counts), HEIGHT - MARGIN, 34)
    x = _scale(lo, lo + width * bins, MARGIN, WIDTH - 20)
    body = _y_ticks(0, max(counts), y, lambda v: f"{v:.0f}")
    for i, c in enumerate(counts):
        body.append(f'<rect x="{x(lo + i * width):.1f}" y="{y(c):.1f}" '
                    f'width="{x(lo + width) - x(lo):.1f}" height="{HEIGHT - MARGIN - y(c):.1f}" '
                    f'fill="#4a78b5" stroke="white" stroke-width="0.5"/>')
    for value in (lo, (lo + hi) / 2, hi):
        body.append(f'<text x="{x(value):.1f}" y="{HEIGHT - MARGIN + 14}" text-anchor="middle" '
                    f'font-size="10" font-family="sans-serif">{value:.0f}</text>')
    return _frame(title, x_label, "images", body)


def line_chart(title, series: dict, x_label, y_label, *, log_x=False, highlight=None):
    """``series``: ``{name: [(x, y), ...]}``; ``highlight``: points to circle (Pareto)."""
    import math
    points = [p for pts in series.values() for p in pts]
    tx = (lambda v: math.log2(v)) if log_x else (lambda v: v)
    xs, ys = [tx(p[0]) for p in points], [p[1] for p in points]
    x = _scale(min(xs), max(xs), MARGIN + 10, WIDTH - 24)
    y = _scale(min(ys) * 0.95, max(ys) * 1.05, HEIGHT - MARGIN, 34)
    body = _y_ticks(min(ys) * 0.95, max(ys) * 1.05, y, lambda v: f"{v:.4g}")
    colours = ["#4a78b5", "#c0504d", "#9bbb59", "#8064a2"]
    for i, (name, pts) in enumerate(series.items()):
        pts = sorted(pts)
        colour = colours[i % len(colours)]
        path = " ".join(f"{x(tx(a)):.1f},{y(b):.1f}" for a, b in pts)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for a, b in pts:
            body.append(f'<circle cx="{x(tx(a)):.1f}" cy="{y(b):.1f}" r="3" fill="{colour}"/>')
            body.append(f'<text x="{x(tx(a)):.1f}" y="{HEIGHT - MARGIN + 14}" text-anchor="middle" '
                        f'font-size="10" font-family="sans-serif">{a:g}</text>')
        body.append(f'<text x="{WIDTH - 24}" y="{40 + 14 * i}" text-anchor="end" font-size="11" '
                    f'fill="{colour}" font-family="sans-serif">{escape(name)}</text>')
    for a, b in highlight or []:
        body.append(f'<circle cx="{x(tx(a)):.1f}" cy="{y(b):.1f}" r="7" fill="none" '
                    f'stroke="black" stroke-width="1.5"/>')
    return _frame(title, x_label, y_label, body)
