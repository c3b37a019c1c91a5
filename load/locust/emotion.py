"""Traffic on the emotion service as a playtest lab sends it: each user is one tester's webcam
streaming sampled frames to /stream (about 1 a second, in order, one session per user), with now
and then a UX researcher's still images, a short session report, and the broken uploads any lab
produces (cut-off frames, a photo sent as a video), which must be answered 4xx and count as success.

    .venv/bin/locust -f load/locust/emotion.py --headless -u 8 -r 4 -t 60s --host http://127.0.0.1:3000

Frames are real photos (scikit-image's astronaut, cameraman and an empty scene) as 640x480 JPEGs."""

from __future__ import annotations

import itertools
import random
import tempfile
import uuid
from pathlib import Path

import cv2
from locust import HttpUser, between, task

from load.locust import bulk
from playserve.api_keys import client_key
from training.emotion import sample_video
from training.emotion.real_faces import photos

FRAMES = [cv2.imencode(".jpg", cv2.resize(p.rgb, (640, 480))[..., ::-1])[1].tobytes()
          for p in photos() if p.name in ("astronaut", "camera", "coffee")]
BREAKAGE = itertools.cycle(("frame", "video"))  # shared by all users: both kinds in every run, however short
CLIP = sample_video.write(Path(tempfile.mkdtemp(prefix="locust-emotion-")) / "clip.mp4", 4, fps=10, size=240).read_bytes()


class PlaytestLab(HttpUser):
    # ~1 frame a second per webcam: 8 users keep one replica at about half its ~18 frames/s
    # (load/results/bench-emotion.md). At 2 frames/s, 8 webcams are its whole capacity, and the
    # live check saw p99 over the 1 s objective; that is the HPA's job, not one replica's.
    wait_time = between(0.8, 1.2)

    def on_start(self):
        self.client.headers["X-API-Key"] = client_key()  # $PLAYSERVE_API_KEY or the local client's
        self.session = f"locust-{uuid.uuid4().hex[:12]}"
        self.frames = itertools.count()

    @task(90)
    def webcam_frame(self):
        self.client.post("/stream", data={"session_id": self.session, "frame": str(next(self.frames))},
                         files={"image": ("frame.jpg", random.choice(FRAMES))}, name="/stream [1 frame]")

    @task(5)
    def still_images(self):
        images = random.sample(FRAMES * 2, random.randint(1, 4))
        self.client.post("/predict", files=[("images", (f"still{i}.jpg", f)) for i, f in enumerate(images)], name="/predict [1-4 images]")

    @task(1)
    def session_report(self):
        bulk.post(self.client, "/report", files={"video": ("session.mp4", CLIP)}, name="/report [4 s clip]", timeout=120)

    @task(4)
    def broken_upload(self):
        if next(BREAKAGE) == "frame":
            request = {"url": "/predict", "files": [("images", ("cut.jpg", random.choice(FRAMES)[:3000]))], "name": "/predict [broken]"}
        else:
            request = {"url": "/report", "files": {"video": ("photo.mp4", random.choice(FRAMES))}, "name": "/report [not a video]"}
        with self.client.post(**request, catch_response=True) as response:
            if response.status_code == 400 and (b"images[0]" in response.content or b"video:" in response.content):
                response.success()
            else:
                response.failure(f"expected 400 naming the upload, got {response.status_code}")
