"""Small inline SVG charts for the HTML report: bars, curves with confidence bands, a node-link drawing.

Every function returns one ``<svg>`` element as text, with no script and no
external resource, so a report that embeds them opens anywhere, offline.
Hovering a bar, point or node shows its exact figures (SVG ``<title>``).
"""

from __future__ import annotations

import math
from html import escape
from typing import Sequence

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{escape(label)}" {FONT} font-size="12">'
            + "".join(body) + "</svg>")


def _axes(left, top, pw, ph, height, x_label: str, y_label: str) -> str:
    """The x and y axis lines of a plot area and their labels."""
    return (f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#444"/>'
            f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="#444"/>'
            f'<text x="{left + pw / 2:.1f}" y="{height - 8}" text-anchor="middle">{escape(x_label)}</text>'
            f'<text transform="translate(14 {top + ph / 2:.1f}) rotate(-90)" text-anchor="middle">'
            f'{escape(y_label)}</text>')


def _legend_entry(x, top, i: int, color: str, name) -> str:
    """Row ``i`` of the legend right of the plot area."""
    ly = top + 10 + i * 20
    return (f'<rect x="{x + 14}" y="{ly - 9}" width="14" height="10" fill="{color}"/>'
            f'<text x="{x + 34}" y="{ly}">{escape(str(name))}</text>')


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``high``.

    Examples
    --------
    >>> nice_ticks(87)
    [0, 20, 40, 60, 80, 100]
    >>> nice_ticks(0)
    [0, 1]
    """
    if high <= 0:
        return [0, 1]
    raw = high / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    n = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) if step < 1 else int(round(i * step)) for i in range(n + 1)]


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.1f}"


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str = "", width: int = 640,
              bar_height: int = 22, color: str = PALETTE[0], tooltips: Sequence[str] | None = None,
              unit: str = "") -> str:
    """Horizontal bars, one per label, largest value at full width.

    Examples
    --------
    >>> svg = bar_chart(["a", "b"], [3, 1], title="sizes")
    >>> svg.startswith("<svg") and svg.count("<rect") == 3
    True
    """
    left, right, top = 170, 70, 28 if title else 8
    height = top + bar_height * len(labels) + 8
    high = max([float(v) for v in values] + [1e-12])
    span = width - left - right
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    if title:
        body.append(f'<text x="{left}" y="18" font-weight="600">{escape(title)}</text>')
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + i * bar_height
        w = max(1.0, span * float(value) / high)
        tip = tooltips[i] if tooltips is not None else f"{label}: {_fmt(value)}{unit}"
        body.append(f'<g><title>{escape(tip)}</title>'
                    f'<text x="{left - 6}" y="{y + bar_height * 0.68:.1f}" text-anchor="end">{escape(str(label))}</text>'
                    f'<rect class="bar" x="{left}" y="{y + 3}" width="{w:.1f}" height="{bar_height - 6}" fill="{color}"/>'
                    f'<text x="{left + w + 5:.1f}" y="{y + bar_height * 0.68:.1f}">{_fmt(value)}{escape(unit)}</text></g>')
    return _svg(width, height, body, title or "bar chart")


def band_chart(curves: Sequence[dict], *, title: str = "", x_label: str = "step", y_label: str = "",
               width: int = 640, height: int = 340) -> str:
    """Lines with shaded confidence bands.

    ``curves``: dicts with ``name``, ``x``, ``y``, ``low``, ``high`` (equal-length sequences).

    Examples
    --------
    >>> svg = band_chart([{"name": "a", "x": [0, 1, 2], "y": [1, 3, 4], "low": [1, 2, 3], "high": [1, 4, 5]}])
    >>> svg.count('class="band"'), svg.count('class="curve"')
    (1, 1)
    """
    left, right, top, bottom = 64, 170, 30 if title else 12, 44
    xs = [float(x) for c in curves for x in c["x"]] or [0.0, 1.0]
    x_ticks = nice_ticks(max(xs), 6)
    y_ticks = nice_ticks(max([float(v) for c in curves for v in c["high"]] + [1.0]), 5)
    pw, ph = width - left - right, height - top - bottom

    def px(x):
        return left + pw * float(x) / x_ticks[-1]

    def py(y):
        return top + ph * (1 - float(y) / y_ticks[-1])

    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    if title:
        body.append(f'<text x="{left}" y="18" font-weight="600">{escape(title)}</text>')
    for t in y_ticks:
        body.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#e5e5e5"/>'
                    f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for t in x_ticks:
        body.append(f'<text x="{px(t):.1f}" y="{top + ph + 16}" text-anchor="middle">{_fmt(t)}</text>')
    body.append(_axes(left, top, pw, ph, height, x_label, y_label))
    for i, c in enumerate(curves):
        color = PALETTE[i % len(PALETTE)]
        upper = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in zip(c["x"], c["high"]))
        lower = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in reversed(list(zip(c["x"], c["low"]))))
        line = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in zip(c["x"], c["y"]))
        body.append(f'<polygon class="band" points="{upper} {lower}" fill="{color}" fill-opacity="0.22" stroke="none"/>'
                    f'<polyline class="curve" points="{line}" fill="none" stroke="{color}" stroke-width="2.2"/>')
        for x, y, lo, hi in zip(c["x"], c["y"], c["low"], c["high"]):
            body.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"><title>'
                        f'{escape(str(c["name"]))}, {x_label} {_fmt(x)}: {_fmt(y)} (95% CI {_fmt(lo)} .. {_fmt(hi)})'
                        f'</title></circle>')
        body.append(_legend_entry(left + pw, top, i, color, c["name"]))
    return _svg(width, height, body, title or "curves")


def network_drawing(nodes: Sequence[dict], edges: Sequence[tuple], *, title: str = "", width: int = 640,
                    height: int = 460) -> str:
    """Circles at given positions joined by lines.

    ``nodes``: dicts with ``x``, ``y`` in [0, 1], ``r`` (pixels), ``label``,
    ``tooltip``; ``edges``: ``(i, j, stroke_width, tooltip)``.

    Examples
    --------
    >>> nodes = [{"x": 0, "y": 0, "r": 10, "label": "A", "tooltip": "A"}, {"x": 1, "y": 1, "r": 5, "label": "B",
    ...          "tooltip": "B"}]
    >>> svg = network_drawing(nodes, [(0, 1, 2.0, "A-B")])
    >>> svg.count('class="node"'), svg.count('class="link"')
    (2, 1)
    """
    top = 30 if title else 8
    margin = max([n["r"] for n in nodes] + [0]) + 16
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    if title:
        body.append(f'<text x="12" y="18" font-weight="600">{escape(title)}</text>')

    def pos(n):
        return (margin + (width - 2 * margin) * n["x"], top + margin + (height - top - 2 * margin) * n["y"])

    for i, j, w, tip in edges:
        (x1, y1), (x2, y2) = pos(nodes[i]), pos(nodes[j])
        body.append(f'<line class="link" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#9aa4b1" '
                    f'stroke-opacity="0.7" stroke-width="{w:.2f}"><title>{escape(tip)}</title></line>')
    for i, n in enumerate(nodes):
        x, y = pos(n)
        color = PALETTE[i % len(PALETTE)]
        body.append(f'<g><title>{escape(n["tooltip"])}</title><circle class="node" cx="{x:.1f}" cy="{y:.1f}" '
                    f'r="{n["r"]:.1f}" fill="{color}" stroke="#ffffff" stroke-width="1.5"/>'
                    f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-weight="600" fill="#111">'
                    f'{escape(n["label"])}</text></g>')
    return _svg(width, height, body, title or "network")


def _log_ticks(high: float) -> list[float]:
    """0, 1, 3, 10, 30, ... up to at least ``high`` (ticks for a log(1 + x) axis)."""
    ticks, t = [0.0, 1.0], 1.0
    while ticks[-1] < high:
        t = t * 3 if str(int(t))[0] == "1" else t * 10 / 3
        ticks.append(round(t))
    return ticks


def predicted_actual_chart(series: Sequence[dict], *, title: str = "", x_label: str = "predicted",
                           y_label: str = "actual", width: int = 640, height: int = 360) -> str:
    """Predicted vs actual on log(1 + x) axes, with the diagonal where a calibrated prediction lies.

    ``series``: dicts with ``name`` and equal-length ``x`` (mean predicted per bin), ``y`` (mean actual),
    ``low``/``high`` (a range of the actual values, drawn as a vertical bar) and ``n`` (accounts per bin).

    Examples
    --------
    >>> svg = predicted_actual_chart([{"name": "f", "x": [0.5, 4], "y": [0.4, 6], "low": [0, 1], "high": [1, 9],
    ...                                "n": [900, 100]}])
    >>> svg.count('class="diagonal"'), svg.count('class="curve"'), svg.count("<circle")
    (1, 1, 2)
    """
    left, right, top, bottom = 64, 170, 30 if title else 12, 44
    high = max([float(v) for c in series for v in list(c["x"]) + list(c["high"])] + [1.0])
    ticks = _log_ticks(high)
    span = math.log1p(ticks[-1])
    pw, ph = width - left - right, height - top - bottom

    def px(x):
        return left + pw * math.log1p(max(float(x), 0.0)) / span

    def py(y):
        return top + ph * (1 - math.log1p(max(float(y), 0.0)) / span)

    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    if title:
        body.append(f'<text x="{left}" y="18" font-weight="600">{escape(title)}</text>')
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#e5e5e5"/>'
                    f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>'
                    f'<text x="{px(t):.1f}" y="{top + ph + 16}" text-anchor="middle">{_fmt(t)}</text>')
    body.append(f'<line class="diagonal" x1="{px(0):.1f}" y1="{py(0):.1f}" x2="{px(ticks[-1]):.1f}" '
                f'y2="{py(ticks[-1]):.1f}" stroke="#999" stroke-dasharray="5 4"><title>predicted = actual</title>'
                f'</line>' + _axes(left, top, pw, ph, height, x_label, y_label))
    for i, c in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(c["x"], c["y"]))
        body.append(f'<polyline class="curve" points="{line}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y, lo, hi, n in zip(c["x"], c["y"], c["low"], c["high"], c["n"]):
            body.append(f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{py(lo):.1f}" y2="{py(hi):.1f}" '
                        f'stroke="{color}" stroke-opacity="0.5" stroke-width="5"/>'
                        f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{color}"><title>'
                        f'{escape(str(c["name"]))}: {int(n):,} accounts predicted {_fmt(x)} on average, actual '
                        f'{_fmt(y)} on average ({_fmt(lo)} .. {_fmt(hi)})</title></circle>')
        body.append(_legend_entry(left + pw, top, i, color, c["name"]))
    return _svg(width, height, body, title or "predicted vs actual")
