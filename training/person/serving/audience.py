"""The audience of an ad: people per frame and whether each looks at the screen, and for a video
the per-second counts, peak and average audience, and each tracked person's dwell time and
attention. Shared by the service, the CLI and the benchmark."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.common import video
from training.common.faces import FaceDetector
from training.common.tracking import Track, Tracker
from training.person.serving import attention
from training.person.serving.detector import ONNX_FILE, Person, PersonDetector

Detect = Callable[[list[np.ndarray]], list[list[Person]]]


@dataclass(frozen=True)
class Viewer:
    box: tuple[float, float, float, float]
    confidence: float
    looking: bool

    def as_dict(self) -> dict:
        return {"box": list(self.box), "confidence": self.confidence, "looking": self.looking}


class Audience:
    """A stored person model's detector and the face detector that judges attention."""

    def __init__(self, model_dir: Path, detect: Detect | None = None):
        self.detect = detect or PersonDetector(Path(model_dir) / ONNX_FILE).detect
        self.faces = FaceDetector(Path(model_dir))

    def viewers(self, rgb: np.ndarray, people: list[Person]) -> list[Viewer]:
        return [Viewer(p.box, p.confidence, attention.looking(self.faces, rgb, p.box)) for p in people]

    def frames(self, images: list[np.ndarray]) -> list[list[Viewer]]:
        return [self.viewers(rgb, people) for rgb, people in zip(images, self.detect(images))]


def summary(counts: list[int], looking: list[int]) -> dict:
    """Counts of a set of frames -> peak and average audience, and the share of person-frames looking."""
    return {"peak_audience": max(counts, default=0), "average_audience": round(float(np.mean(counts)) if counts else 0.0, 3),
            "attention_share": round(sum(looking) / sum(counts), 4) if sum(counts) else 0.0}


def track_row(track: Track, rate: float) -> dict:
    return {"id": track.id, "first_seen_s": round(track.first_seen, 2), "last_seen_s": round(track.last_seen, 2),
            "dwell_s": round(track.last_seen - track.first_seen + 1 / rate, 2), "frames": track.frames,
            "looking_share": round(float(track.total[0]) / track.frames, 4)}


def tracked(audience: Audience, path: Path, rate: float) -> tuple[video.VideoInfo, Tracker, Iterator[tuple[float, list[Viewer], list[Track]]]]:
    """Open the video (VideoError if it is not usable) and return its info, the tracker and an
    iterator of (time, viewers, their tracks) over the sampled frames."""
    capture, info = video.open_video(path)
    tracker = Tracker()

    def frames():
        for time_s, rgb in video.sampled_frames(capture, info, rate):
            viewers = audience.frames([rgb])[0]
            yield time_s, viewers, tracker.update(time_s, [v.box for v in viewers], [np.array([float(v.looking)]) for v in viewers])
    return info, tracker, frames()


def report(audience: Audience, path: Path, rate: float = video.DEFAULT_RATE) -> dict:
    """A video (VideoError if it is not usable) -> summary, per-second audience and tracked people.
    A second's count is the most people seen in one of its sampled frames; a person's dwell time
    runs from the first to the last frame they were tracked in, plus one sampling interval."""
    info, tracker, frames = tracked(audience, path, rate)
    counts, looking, seconds = [], [], {}
    for time_s, viewers, _ in frames:
        counts.append(len(viewers))
        looking.append(sum(v.looking for v in viewers))
        second = seconds.setdefault(int(time_s), {"second": int(time_s), "people": 0, "looking": 0})
        second["people"], second["looking"] = max(second["people"], counts[-1]), max(second["looking"], looking[-1])
    tracks = [track_row(t, rate) for t in tracker.tracks.values()]
    return {
        "summary": {"duration_s": round(info.seconds, 2), "sampled_frames": len(counts), "sample_rate": rate,
                    **summary(counts, looking), "people_tracked": len(tracks),
                    "average_dwell_s": round(float(np.mean([t["dwell_s"] for t in tracks])), 2) if tracks else 0.0,
                    "people_who_looked": sum(t["looking_share"] > 0 for t in tracks)},
        "per_second": list(seconds.values()),
        "people": tracks,
    }
