"""The emotion benchmark's workload: one webcam frame per request, and a session video's report."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from load.bench import Workload
from playserve.api_keys import client_key


def workload(tag: str) -> tuple[str, Workload]:
    """One webcam frame per request (a real photo, the astronaut, as a 640x480 JPEG); bare: decode,
    detect, crop and classify in process, as the service does. Extra: the JSON report on a
    10-minute session video, bare and served."""
    import cv2
    from training.common.images import decode
    from training.common.store import get
    from training.emotion.serving.analysis import Analyser
    from training.emotion.real_faces import photos

    stored = get(tag)
    analyser = Analyser(stored.path)
    scene = cv2.resize(next(p.rgb for p in photos() if p.name == "astronaut"), (480, 480))
    frame = cv2.imencode(".jpg", cv2.copyMakeBorder(scene, 0, 0, 80, 80, cv2.BORDER_REPLICATE)[..., ::-1])[1].tobytes()
    content_type = "multipart/form-data; boundary=playserve-bench"
    body = httpx.Request("POST", "/predict", files=[("images", ("frame.jpg", frame))], headers={"content-type": content_type}).read()
    return stored.tag, Workload("/predict", body, lambda _: analyser.faces(np.asarray(decode(frame))),
                                content_type=content_type, requests=600, adaptive=False, webcam_fps=2.0,
                                extra=lambda url: session_video_report(analyser, url))


SESSION_MINUTES = 10


def session_video_report(analyser, url: str) -> dict:
    """Seconds to report on a 10-minute session video (480x480, 15 frames/s, MP4) at the default
    sampled rate: in process, then through the running service's /report."""
    from training.common import video
    from training.emotion import sample_video
    from training.emotion.serving import session

    with tempfile.TemporaryDirectory() as tmp:
        path = sample_video.write(Path(tmp) / "session.mp4", SESSION_MINUTES * 60, fps=15, size=480)
        size = path.stat().st_size
        start = time.perf_counter()
        frames = session.report(analyser, path, video.DEFAULT_RATE)["summary"]["sampled_frames"]
        bare_s = time.perf_counter() - start
        start = time.perf_counter()
        with path.open("rb") as upload:
            response = httpx.post(f"{url}/report", files={"video": ("session.mp4", upload)}, headers={"X-API-Key": client_key()}, timeout=900)
        served_s = time.perf_counter() - start
    response.raise_for_status()
    line = (f"Session report: a {SESSION_MINUTES}-minute video ({size / 1e6:.0f} MB MP4, 480x480 at 15 frames/s) at "
            f"{video.DEFAULT_RATE:g} frames/s ({frames:,} frames analysed): **{bare_s:.1f} s** in process, **{served_s:.1f} s** "
            f"through `/report` (upload included), {frames / served_s:.1f} analysed frames/s.")
    return {"video_minutes": SESSION_MINUTES, "video_bytes": size, "sample_rate": video.DEFAULT_RATE, "sampled_frames": frames,
            "bare_report_s": bare_s, "served_report_s": served_s, "served_frames_per_s": frames / served_s, "lines": [line]}
