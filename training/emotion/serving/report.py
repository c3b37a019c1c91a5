"""Sampled frames of a session with their tracked faces -> the emotion report the UX team reads:
a per-second timeline of emotion shares, the strongest reaction moments, the tracked faces and a
summary. Only derived numbers: no image, crop or face embedding goes in."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from training.emotion.serving.expression import EMOTIONS

NEUTRAL = EMOTIONS.index("neutral")
MOMENTS = 5
REACTION = 0.25  # a second is part of a reaction when at least this share of its expressions is not neutral


@dataclass(frozen=True)
class Sample:
    time_s: float
    track_ids: list[int]
    emotions: list[np.ndarray]  # per face, (7,) probabilities


def shares(vectors) -> dict[str, float]:
    mean = np.mean(vectors, axis=0)
    return {e: round(float(v), 4) for e, v in zip(EMOTIONS, mean)}


def dominant(share: dict[str, float]) -> str:
    return max(share, key=share.get)


def timeline(samples: list[Sample], seconds: float) -> list[dict]:
    """One entry per second of video: how many faces were seen (mean over its samples) and the
    emotion shares over every face observation in it (None when no face was seen)."""
    rows = []
    for second in range(max(1, math.ceil(seconds))):
        inside = [s for s in samples if second <= s.time_s < second + 1]
        observations = [e for s in inside for e in s.emotions]
        rows.append({"second": second, "faces": round(float(np.mean([len(s.emotions) for s in inside])), 2) if inside else 0.0,
                     "shares": shares(observations) if observations else None})
    return rows


def episodes(rows: list[dict]) -> list[dict]:
    """Reactions as they happen: runs of consecutive seconds with a face whose expression is at
    least REACTION not neutral, led by the same emotion. Each with its span (`start_s` to `end_s`,
    exclusive), the emotion, its mean share over the span and the peak intensity (1 - neutral)."""
    found: list[dict] = []
    for row in rows:
        intensity = 1 - row["shares"]["neutral"] if row["shares"] else 0.0
        if intensity < REACTION:
            continue
        reaction = {e: v for e, v in row["shares"].items() if e != "neutral"}
        emotion = dominant(reaction)
        last = found[-1] if found else None
        if last and last["emotion"] == emotion and last["end_s"] == row["second"]:
            last["end_s"], last["_shares"] = row["second"] + 1, last["_shares"] + [reaction[emotion]]
            if intensity > last["intensity"]:
                last["peak_s"], last["intensity"] = row["second"], round(intensity, 4)
        else:
            found.append({"start_s": row["second"], "end_s": row["second"] + 1, "emotion": emotion, "peak_s": row["second"],
                          "intensity": round(intensity, 4), "_shares": [reaction[emotion]]})
    return [{**{k: v for k, v in e.items() if k != "_shares"}, "share": round(float(np.mean(e["_shares"])), 4)} for e in found]


def moments(rows: list[dict], count: int = MOMENTS) -> list[dict]:
    """The `count` strongest episodes (peak intensity, then length), in time order and numbered so
    (`number`, as the page's markers), with `rank` 1 for the strongest. A continuous reaction is one
    moment, however long: a short anger is not pushed out by two halves of one happy stretch."""
    strongest = sorted(episodes(rows), key=lambda e: (-e["intensity"], e["start_s"] - e["end_s"], e["start_s"]))[:count]
    ranks = {e["start_s"]: rank for rank, e in enumerate(strongest, 1)}
    return [{"number": number, "rank": ranks[e["start_s"]], **e} for number, e in enumerate(sorted(strongest, key=lambda e: e["start_s"]), 1)]


def track_rows(tracks) -> list[dict]:
    """Each tracked face: when it was seen, in how many frames, its emotion shares and the dominant one."""
    return [{"id": t.id, "first_s": round(t.first_seen, 2), "last_s": round(t.last_seen, 2), "frames": t.frames,
             "emotions": shares([t.total / t.frames]), "dominant": EMOTIONS[int(np.argmax(t.total))]} for t in tracks]


def build(samples: list[Sample], tracks: list, seconds: float, rate: float) -> dict:
    """The whole report as plain JSON-able data."""
    rows = timeline(samples, seconds)
    observations = [e for s in samples for e in s.emotions]
    with_face = [r for r in rows if r["shares"]]
    overall = shares(observations) if observations else None
    return {
        "summary": {
            "duration_s": round(seconds, 2), "sample_rate": rate, "sampled_frames": len(samples),
            "frames_with_face": sum(1 for s in samples if s.emotions), "face_observations": len(observations),
            "seconds_with_face": len(with_face), "share_of_time_with_face": round(len(with_face) / len(rows), 4),
            "faces_tracked": len(tracks), "emotions": overall, "dominant": dominant(overall) if overall else None,
            "dominant_excluding_neutral": dominant({e: v for e, v in overall.items() if e != "neutral"}) if overall else None,
        },
        "moments": moments(rows),
        "tracks": track_rows(tracks),
        "timeline": rows,
    }
