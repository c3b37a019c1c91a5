"""The emotion report as one self-contained HTML page (inline SVG charts and CSS, no script, no
external file) that the UX team can open, mail or archive."""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape

from training.emotion.serving.expression import EMOTIONS

COLOURS = {"angry": "#d62728", "disgust": "#8c564b", "fear": "#9467bd", "happy": "#f2b701",
           "sad": "#1f77b4", "surprise": "#2ca02c", "neutral": "#b0b0b0"}
WIDTH, HEIGHT, LEFT, BOTTOM = 960, 240, 40, 24


def timeline_svg(rows: list[dict], moments: list[dict]) -> str:
    """Stacked bars of emotion shares, one per second; grey hatching where no face was seen; the
    strongest moments framed over their span and numbered in time order."""
    step = (WIDTH - LEFT) / len(rows)
    plot = HEIGHT - BOTTOM
    parts = []
    for row in rows:
        x = LEFT + row["second"] * step
        if not row["shares"]:
            parts.append(f'<rect x="{x:.2f}" y="0" width="{step:.2f}" height="{plot}" fill="url(#noface)"/>')
            continue
        top = 0.0
        for emotion in EMOTIONS:
            share = row["shares"][emotion]
            if share > 0.001:
                parts.append(f'<rect x="{x:.2f}" y="{top * plot:.2f}" width="{step:.2f}" height="{share * plot:.2f}" '
                             f'fill="{COLOURS[emotion]}"><title>{row["second"]} s: {emotion} {share:.0%}</title></rect>')
            top += share
    for moment in moments:  # numbered in time order, as the table below
        x, width = LEFT + moment["start_s"] * step, (moment["end_s"] - moment["start_s"]) * step
        parts.append(f'<rect x="{x:.2f}" y="0" width="{width:.2f}" height="{plot}" fill="none" stroke="#000" stroke-width="2" '
                     f'class="moment"><title>{moment["number"]}: {moment["emotion"]}</title></rect>'
                     f'<text x="{x + 3:.2f}" y="14" font-size="13" font-weight="bold">{moment["number"]}</text>')
    ticks = max(1, round(len(rows) / 10))
    for second in range(0, len(rows), ticks):
        parts.append(f'<text x="{LEFT + second * step:.2f}" y="{HEIGHT - 6}" font-size="11">{clock(second)}</text>')
    for share in (0, 0.5, 1):
        parts.append(f'<text x="0" y="{max((1 - share) * plot + 4, 11):.2f}" font-size="11">{share:.0%}</text>')  # 100% inside the box
    return (f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="emotion shares per second">'
            '<defs><pattern id="noface" width="6" height="6" patternUnits="userSpaceOnUse">'
            '<path d="M0 6L6 0" stroke="#ddd"/></pattern></defs>' + "".join(parts) + "</svg>")


def shares_svg(shares: dict[str, float]) -> str:
    rows = []
    for index, emotion in enumerate(EMOTIONS):
        width = shares[emotion] * 300
        rows.append(f'<text x="0" y="{index * 22 + 15}" font-size="13">{emotion}</text>'
                    f'<rect x="80" y="{index * 22 + 3}" width="{width:.1f}" height="16" fill="{COLOURS[emotion]}"/>'
                    f'<text x="{86 + width:.1f}" y="{index * 22 + 15}" font-size="12">{shares[emotion]:.1%}</text>')
    return f'<svg viewBox="0 0 440 {len(EMOTIONS) * 22}" width="440" role="img" aria-label="emotion shares over the session">{"".join(rows)}</svg>'


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def render(report: dict, title: str = "Playtest emotion report", source: str = "an uploaded video", made: datetime | None = None) -> str:
    """`source`: what the video was (its file name); `made`: when the page was made (now)."""
    summary = report["summary"]
    made = (made or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    legend = "".join(f'<span><i style="background:{COLOURS[e]}"></i>{e}</span>' for e in EMOTIONS)
    moments = "".join(f"<tr><td>{m['number']}</td><td>{clock(m['start_s'])}-{clock(m['end_s'])}</td><td>{escape(m['emotion'])}</td>"
                      f"<td>{m['share']:.0%}</td><td>{m['intensity']:.0%}</td><td>{m['rank']}</td></tr>" for m in report["moments"])
    tracks = "".join(f"<tr><td>face {t['id']}</td><td>{clock(t['first_s'])}-{clock(t['last_s'])}</td><td>{t['frames']}</td>"
                     f"<td>{escape(t['dominant'])}</td></tr>" for t in report["tracks"])
    overall = shares_svg(summary["emotions"]) if summary["emotions"] else "<p>No face was seen in this video.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1000px}}
.cards{{display:flex;gap:1rem;flex-wrap:wrap}}.cards div{{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem}}
.cards b{{display:block;font-size:1.4rem}}table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #eee;padding:.3rem .8rem;text-align:left}}
.legend span{{margin-right:1rem}}.legend i{{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem}}
</style></head><body>
<h1>{escape(title)}</h1>
<div class="cards">
<div>length<b>{clock(summary["duration_s"])}</b></div>
<div>face visible<b>{summary["share_of_time_with_face"]:.0%}</b></div>
<div>faces tracked<b>{summary["faces_tracked"]}</b></div>
<div>main reaction<b>{escape(summary["dominant_excluding_neutral"] or "none")}</b></div>
<div>sampled<b>{summary["sample_rate"]:g} frames/s</b></div>
</div>
<h2>Emotions over time</h2>
<p class="legend">{legend}<span>hatched: no face</span></p>
{timeline_svg(report["timeline"], report["moments"])}
<h2>Strongest reactions</h2>
<table><tr><th>#</th><th>from-to</th><th>emotion</th><th>share</th><th>peak not neutral</th><th>rank</th></tr>{moments}</table>
<h2>Whole session</h2>
{overall}
<h2>Faces</h2>
<table><tr><th>face</th><th>seen</th><th>sampled frames</th><th>mostly</th></tr>{tracks}</table>
<p class="provenance">Source: {escape(source)} ({clock(summary["duration_s"])}, {summary["sampled_frames"]} frames analysed).
Model: {escape(report.get("model_version", "unknown"))}. Made {made}.</p>
<p><small>Derived numbers only: this page holds no image of any face. Expressions are what a face
shows, not what a player feels.</small></p>
</body></html>
"""
