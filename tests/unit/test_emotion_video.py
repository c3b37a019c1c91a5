"""Session videos: what is not a usable video is refused with a reason and a message; frames are
sampled at the asked rate from every container the service accepts."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from training.common import video
from training.common.sample_video import CODECS
from training.emotion import sample_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return sample_video.write(tmp_path_factory.mktemp("clip") / "clip.mp4", 5, fps=10, size=128)


@pytest.mark.parametrize("suffix", sorted(CODECS))
def test_frames_are_sampled_at_the_rate_from_each_container(suffix, tmp_path):
    path = sample_video.write(tmp_path / f"clip{suffix}", 3, fps=10, size=96)
    capture, info = video.open_video(path)
    assert (info.fps, info.frames, info.width, info.height) == (10, 30, 96, 96)
    times = [t for t, frame in video.sampled_frames(capture, info, 2.0)]
    assert times == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_rates_above_the_videos_own_frame_rate_take_every_frame_once(clip):
    capture, info = video.open_video(clip)
    frames = list(video.sampled_frames(capture, info, 10.0))
    assert len(frames) == 50 and frames[0][1].shape == (128, 128, 3) and frames[0][1].dtype == np.uint8


def test_sample_times_cover_the_video():
    info = video.VideoInfo(fps=30, frames=95, width=64, height=64)  # 3.17 s
    assert len(video.sample_times(info, 2.0)) == math.ceil(95 / 30 * 2)


def refused(path) -> str:
    with pytest.raises(video.VideoError) as error:
        video.open_video(path)
    return error.value.reason


def test_empty_random_image_and_text_files_are_not_videos(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    (tmp_path / "face.jpg").write_bytes(cv2.imencode(".jpg", np.zeros((64, 64, 3), np.uint8))[1].tobytes())
    (tmp_path / "notes.txt").write_text("not a video\n" * 100)
    assert refused(tmp_path / "empty.mp4") == "empty"
    assert {refused(tmp_path / n) for n in ("noise.mp4", "face.jpg", "notes.txt")} == {"not_a_video"}


def test_a_truncated_video_is_refused_or_read_as_far_as_it_goes(clip, tmp_path):
    data = clip.read_bytes()
    head, tail = tmp_path / "head.mp4", tmp_path / "tail.mp4"
    head.write_bytes(data[: len(data) // 3])  # MP4 keeps its index at the end: nothing to play
    tail.write_bytes(data[len(data) // 3:])
    assert refused(head) in {"not_a_video", "unreadable_codec"}
    assert refused(tail) in {"not_a_video", "unreadable_codec"}


def test_too_long_and_too_many_pixels(clip, monkeypatch, tmp_path):
    monkeypatch.setattr(video, "MAX_SECONDS", 4)
    assert refused(clip) == "too_long"
    monkeypatch.setattr(video, "MAX_FRAME_PIXELS", 100 * 100)
    assert refused(clip) == "too_many_pixels"


def test_a_video_that_understates_its_length_is_stopped_while_reading(clip, monkeypatch):
    capture, info = video.open_video(clip)
    monkeypatch.setattr(video, "MAX_SECONDS", 2)
    with pytest.raises(video.VideoError, match="past the 2 s limit"):
        list(video.sampled_frames(capture, info, 2.0))


def test_the_sample_video_shows_its_script(clip):
    assert [sample_video.scene_at(s) for s in (0, 4.5, 6, 11, 12)] == ["astronaut", "coffee", "camera", "coffee", "astronaut"]
