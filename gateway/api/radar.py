"""A radar (spider) chart as plain SVG, the way municipal self-assessment tools draw one.

Each axis is an indicator; its point is how far the value has come towards the target
(value / target where higher is better, target / value where lower is better), from the
centre (0) through the dashed target ring (1) to the rim (1.5, also where anything beyond
is drawn). No script, no library: the server writes it and the browser draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

RIM = 1.5
STATUS_COLOUR = {"green": "#1e7a3c", "yellow": "#8a5a00", "red": "#b3261e", "none": "#5d6678"}


@dataclass(frozen=True, slots=True)
class Axis:
    label: str
    ratio: float
    status: str


def attainment(value: float | None, target: float | None, direction: str) -> float | None:
    """How far ``value`` has come towards ``target`` (1 = met), capped at the rim."""
    if value is None or target is None:
        return None
    if direction == "higher":
        if target <= 0:
            return RIM if value >= target else 0.0
        return min(RIM, max(0.0, value / target))
    if value <= 0:
        return RIM
    return min(RIM, max(0.0, target / value)) if target > 0 else 0.0


def radar_svg(axes: list[Axis], title: str, desc: str, *, width: int = 460,
              height: int = 300) -> str:
    """The chart, with a ``<title>`` and ``<desc>`` naming every axis and value."""
    cx, cy = width / 2, height / 2
    r = height / 2 - 36  # room above and below for the labels; the sides have more
    n = len(axes)

    def point(i: int, ratio: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + r * ratio / RIM * math.cos(angle), cy + r * ratio / RIM * math.sin(angle)

    def poly(ratios: list[float]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in
                                                         enumerate(ratios)))

    described = desc + "; ".join(f"{a.label}: {round(a.ratio * 100)} %" for a in axes)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" class="radar">',
             f"<title>{escape(title)}</title><desc>{escape(described)}</desc>"]
    for ring, style in ((0.5, ""), (1.0, ' stroke-dasharray="4 3" stroke="#1d2330"'),
                        (RIM, "")):
        parts.append(f'<polygon points="{poly([ring] * n)}" fill="none" '
                     f'stroke="#c3c9d4"{style}/>' if n >= 3 else
                     f'<circle cx="{cx}" cy="{cy}" r="{r * ring / RIM:.1f}" fill="none" '
                     f'stroke="#c3c9d4"{style}/>')
    for i, axis in enumerate(axes):
        x, y = point(i, RIM)
        parts.append(f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" '
                     'stroke="#dde1e8"/>')
        lx, ly = point(i, RIM * 1.1)
        anchor = "middle" if abs(lx - cx) < 8 else "start" if lx > cx else "end"
        ly += 4 if ly >= cy else -2
        room = (width - lx if anchor == "start" else lx if anchor == "end" else width) - 4
        most = max(8, int(room / 5.6))  # about 5.6 px a character at 10 px
        short = axis.label if len(axis.label) <= most else axis.label[:most - 1] + "…"
        parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="10" text-anchor="{anchor}" '
                     f'fill="#1d2330">{escape(short)}</text>')
    if n >= 2:
        parts.append(f'<polygon points="{poly([a.ratio for a in axes])}" '
                     'fill="rgba(31,95,168,.18)" stroke="#1f5fa8" stroke-width="2"/>')
    for i, axis in enumerate(axes):
        x, y = point(i, axis.ratio)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" '
                     f'fill="{STATUS_COLOUR.get(axis.status, STATUS_COLOUR["none"])}"/>')
    parts.append("</svg>")
    return "".join(parts)
