"""A whole session video -> per-frame faces and the emotion report (training/emotion/serving/report.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from training.common import video
from training.emotion.serving.analysis import Analyser, FaceEmotions
from training.emotion.serving.report import Sample, build
from training.common.tracking import Track, Tracker


def frames(analyser: Analyser, path: Path, rate: float) -> tuple[video.VideoInfo, Tracker, Iterator[tuple[float, list[FaceEmotions], list[Track]]]]:
    """Open the video (VideoError if it is not usable) and return its info, the tracker and an
    iterator of (time, faces, their tracks) over the sampled frames."""
    capture, info = video.open_video(path)
    tracker = Tracker()

    def analysed():
        for time_s, rgb in video.sampled_frames(capture, info, rate):
            faces = analyser.faces(rgb)
            yield time_s, faces, tracker.update(time_s, [f.box for f in faces], [f.emotions for f in faces])
    return info, tracker, analysed()


def report(analyser: Analyser, path: Path, rate: float = video.DEFAULT_RATE) -> dict:
    info, tracker, analysed = frames(analyser, path, rate)
    samples = [Sample(time_s, [t.id for t in tracks], [f.emotions for f in faces]) for time_s, faces, tracks in analysed]
    return build(samples, list(tracker.tracks.values()), info.seconds, rate)
