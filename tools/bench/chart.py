"""docs/bench.svg from make bench's results: cold start and peak memory per task (Rust against the
Python baseline, log scale), and wall time at scale (ours, the ideal, the original serial loop)."""

from __future__ import annotations

import math
from html import escape

W, ROW, LEFT, BAR = 900, 22, 190, 8
RUST, PYTHON, IDEAL, SERIAL = "#d9480f", "#1c7ed6", "#868e96", "#5c940d"


def _log_x(value: float, lo: float, hi: float, width: float) -> float:
    return width * (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))


def _axis(y: float, lo: float, hi: float, width: float, unit: str) -> list[str]:
    out = []
    tick = 10 ** math.floor(math.log10(lo))
    while tick <= hi:
        for m in (1, 2, 5):
            v = tick * m
            if lo <= v <= hi:
                x = LEFT + _log_x(v, lo, hi, width)
                out.append(f'<line x1="{x:.1f}" y1="{y - 4}" x2="{x:.1f}" y2="{y}" stroke="#adb5bd"/>')
                label = f"{v:g}{unit}"
                out.append(f'<text x="{x:.1f}" y="{y + 12}" font-size="10" text-anchor="middle">{label}</text>')
        tick *= 10
    return out


def _panel(title: str, rows: list[tuple[str, list[tuple[float, str, str]]]], y0: float,
           unit: str) -> tuple[list[str], float]:
    values = [v for _, bars in rows for v, _, _ in bars]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    width = W - LEFT - 60
    out = [f'<text x="10" y="{y0 + 14}" font-size="14" font-weight="bold">{escape(title)}</text>']
    y = y0 + 26
    for label, bars in rows:
        out.append(f'<text x="{LEFT - 6}" y="{y + len(bars) * BAR / 2 + 4:.1f}" font-size="11" '
                   f'text-anchor="end">{escape(label)}</text>')
        for i, (v, color, text) in enumerate(bars):
            w = max(1.0, _log_x(v, lo, hi, width))
            by = y + i * BAR
            out.append(f'<rect x="{LEFT}" y="{by}" width="{w:.1f}" height="{BAR - 1}" fill="{color}"/>')
            out.append(f'<text x="{LEFT + w + 4:.1f}" y="{by + BAR - 1}" font-size="9">{escape(text)}</text>')
        y += max(ROW, len(bars) * BAR + 6)
    out += _axis(y + 4, lo, hi, width, unit)
    return out, y + 24


def _legend(items: list[tuple[str, str]], y: float) -> list[str]:
    out, x = [], LEFT
    for color, text in items:
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{x + 14}" y="{y + 9}" font-size="11">{escape(text)}</text>')
        x += 16 + 7 * len(text)
    return out


def svg(results: dict) -> str:
    cs = results["coldStart"]
    parts: list[str] = []
    rows = []
    for key, v in cs.items():
        r, p = v["rust"]["seconds"]["median"] * 1000, v["python"]["seconds"]["median"] * 1000
        rows.append((key.replace("/", " "), [(r, RUST, f"{r:.0f} ms"), (p, PYTHON, f"{p:.0f} ms")]))
    panel, y = _panel("Cold start to first answer (median, log scale)", rows, 10, " ms")
    parts += panel
    rows = []
    for key, v in cs.items():
        r, p = v["rust"]["peakRssKiB"]["median"] / 1024, v["python"]["peakRssKiB"]["median"] / 1024
        rows.append((key.replace("/", " "), [(r, RUST, f"{r:.1f} MiB"), (p, PYTHON, f"{p:.1f} MiB")]))
    panel, y = _panel("Peak resident memory (median, log scale)", rows, y + 10, " MiB")
    parts += panel
    parts += _legend([(RUST, "rds-failsafe (Rust)"), (PYTHON, "Python boto3 baseline, same calls")], y)
    y += 24
    rows = []
    for v in results["scale"]:
        h = 3600
        lv = v["live"]
        rows.append((f"N={v['n']}", [
            (lv["simulatedSeconds"] / h, RUST, f"{lv['simulatedSeconds'] / h:.2f} h"),
            (lv["idealSeconds"] / h, IDEAL, f"{lv['idealSeconds'] / h:.2f} h"),
            (v["serialSeconds"] / h, SERIAL, f"{v['serialSeconds'] / h:.1f} h"),
        ]))
    panel, y = _panel(f"Live run wall time, {results['scaleMinutes']}-minute copies (log scale)",
                      rows, y + 10, " h")
    parts += panel
    parts += _legend([(RUST, "rds-failsafe, concurrency 20"), (IDEAL, "ideal ceil(N/20)·D"),
                      (SERIAL, "original tool, serial")], y)
    y += 24
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{y:.0f}" '
            f'viewBox="0 0 {W} {y:.0f}" font-family="sans-serif">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(parts) + "\n</svg>\n")
