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
MOMENT_SPACING_S = 5  # strongest moments are at least this far apart, so one reaction is one moment


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


def moments(rows: list[dict], count: int = MOMENTS) -> list[dict]:
    """The seconds with the strongest non-neutral reaction (1 - neutral share), strongest first,
    at least MOMENT_SPACING_S apart; each with the emotion that led it."""
    candidates = sorted((r for r in rows if r["shares"]), key=lambda r: (-(1 - r["shares"]["neutral"]), r["second"]))
    chosen: list[dict] = []
    for row in candidates:
        if len(chosen) == count:
            break
        if all(abs(row["second"] - c["second"]) >= MOMENT_SPACING_S for c in chosen):
            reaction = {e: v for e, v in row["shares"].items() if e != "neutral"}
            emotion = dominant(reaction)
            chosen.append({"second": row["second"], "emotion": emotion, "share": reaction[emotion],
                           "intensity": round(1 - row["shares"]["neutral"], 4)})
    return chosen


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
