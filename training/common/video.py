"""Uploaded videos (playtest sessions, ad-camera recordings): open with limits (what is not a playable video is refused with a reason and a
message naming the problem) and read frames at a sampled rate. OpenCV's FFmpeg backend decodes
the common containers (MP4, AVI, MKV, WebM, MOV)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MAX_BYTES = 2 * 1024**3       # 2 GiB: a two-hour 720p webcam recording is well under this
MAX_SECONDS = 3 * 3600        # a playtest session is at most a few hours
MAX_FRAME_PIXELS = 3840 * 2160
DEFAULT_RATE = 2.0            # sampled frames per second: expressions change over ~0.5 s
MAX_RATE = 10.0
MIN_RATE = 0.01              # one frame every 100 s; a bound, not `> 0`, so the OpenAPI 3.0 document stays valid

# A refused upload is answered with a message; FFmpeg's and OpenCV's own complaints about it would
# only clutter the service's log (read when a capture is opened, so setting them here is in time).
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class VideoError(ValueError):
    """An upload that is not a usable video; `reason` is the metric label, the message names it."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frames: int
    width: int
    height: int

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


def container(head: bytes) -> str | None:
    """The container a file's first bytes announce, or None. FFmpeg would open far more (text files
    as "ansi" video, HLS playlists that fetch other files and URLs), so only these reach it."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free"):
        return "mp4/mov"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska/webm"
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpeg"
    if head[:1] == b"\x47" and head[188:189] == b"\x47":
        return "mpeg-ts"
    return None


def open_video(path: Path) -> tuple[cv2.VideoCapture, VideoInfo]:
    """A readable video -> an open capture and its properties, or VideoError(reason): empty,
    too_large, not_a_video, unreadable_codec, too_many_pixels, too_long."""
    size = Path(path).stat().st_size
    if not size:
        raise VideoError("empty", "the upload is empty (0 bytes)")
    if size > MAX_BYTES:
        raise VideoError("too_large", f"{size:,} bytes is over the {MAX_BYTES:,}-byte limit")
    with open(path, "rb") as file:
        if container(file.read(512)) is None:
            raise VideoError("not_a_video", "not a video container (send MP4, MOV, AVI, MKV or WebM)")
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)  # FFmpeg only: the image-sequence backend would open a JPEG
    fps, frames = capture.get(cv2.CAP_PROP_FPS), int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if not capture.isOpened() or not width or not height or not (0 < fps < 1000) or frames <= 1:
        capture.release()
        raise VideoError("not_a_video", "not a video OpenCV can open (send MP4, MOV, AVI, MKV or WebM)")
    info = VideoInfo(fps, frames, width, height)
    if width * height > MAX_FRAME_PIXELS:
        capture.release()
        raise VideoError("too_many_pixels", f"{width}x{height} frames are over the {MAX_FRAME_PIXELS:,}-pixel limit (4K)")
    if info.seconds > MAX_SECONDS:
        capture.release()
        raise VideoError("too_long", f"{info.seconds:,.0f} s is over the {MAX_SECONDS:,} s limit")
    if not capture.grab():
        capture.release()
        raise VideoError("unreadable_codec", "the container opened but its first frame cannot be decoded (unsupported codec or corrupt stream)")
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    return capture, info


def sample_times(info: VideoInfo, rate: float) -> list[float]:
    """The seconds to sample at `rate` frames per second over the whole video."""
    return [index / rate for index in range(max(1, math.ceil(info.seconds * rate)))]


def sampled_frames(capture: cv2.VideoCapture, info: VideoInfo, rate: float) -> Iterator[tuple[float, np.ndarray]]:
    """(time in seconds, RGB frame) at `rate` frames per second. Frames between samples are only
    grabbed (demuxed and decoded, not converted), which is what makes a long video affordable."""
    wanted = iter(round(t * info.fps) for t in sample_times(info, rate))
    target = next(wanted, None)
    index = 0
    try:
        while target is not None and capture.grab():
            if index == target:
                ok, frame = capture.retrieve()
                if ok:
                    yield index / info.fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                target = next(wanted, None)
                while target is not None and target <= index:  # rates above the video's own frame rate
                    target = next(wanted, None)
            index += 1
            if index > MAX_SECONDS * info.fps:  # a container that understated its length
                raise VideoError("too_long", f"the video runs past the {MAX_SECONDS:,} s limit")
    finally:
        capture.release()
