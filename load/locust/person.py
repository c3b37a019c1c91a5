"""Traffic on the person service as ad cameras send it: each user is one camera posting a frame
every 5-8 s, starting at a random moment (cameras are not in step), now and then a short recording
for its audience report, and the broken uploads any fleet of cameras produces (truncated frames, a
log file sent as a recording), which must be answered 400 and are counted as success here.
One 2-core replica keeps 4 such cameras well inside the 2 s p99 objective (frames 0.3-0.75 s); 8
cameras with a recording among them reached 2.5 s, because the recording's frames take the cores
the cameras' frames wait for (load/results/bench-person.md has the throughput: ~3 frames/s).

    .venv/bin/locust -f load/locust/person.py --headless -u 4 -r 4 -t 60s --host http://127.0.0.1:3000

Frames are real photos (ultralytics' bus.jpg and zidane.jpg, an empty scene) in 640x480 camera frames."""

from __future__ import annotations

import itertools
import random
import tempfile
from pathlib import Path

import cv2
import gevent
from locust import HttpUser, between, task

from load.locust import bulk
from playserve.api_keys import client_key
from training.common.sample_video import fit
from training.person import photos, sample_video

FRAMES = [cv2.imencode(".jpg", fit(photos.load(name), 640, 480)[..., ::-1])[1].tobytes() for name in ("bus", "zidane", "coffee")]
CLIP = sample_video.write(Path(tempfile.mkdtemp(prefix="locust-person-")) / "clip.mp4", 3, fps=5).read_bytes()
# Both kinds of breakage in turn across all users, so a short run has both (module-level: one cycle).
BREAKAGE = itertools.cycle(("frame", "recording"))


class AdCamera(HttpUser):
    wait_time = between(5.0, 8.0)

    def on_start(self):
        self.client.headers["X-API-Key"] = client_key()  # $PLAYSERVE_API_KEY or the local client's
        gevent.sleep(random.uniform(0, 5))
        self.broken()  # a camera's first upload after a restart is often cut off; and a short run has both kinds

    @task(80)
    def frame(self):
        self.client.post("/predict", files={"images": ("frame.jpg", random.choice(FRAMES))}, name="/predict [1 frame]")

    @task(4)
    def recording(self):
        bulk.post(self.client, "/video", files={"video": ("clip.mp4", CLIP)}, data={"sample_rate": "1"}, name="/video [3 s]")

    @task(16)
    def broken(self):
        if next(BREAKAGE) == "frame":
            frame = random.choice(FRAMES)
            self.expect_400("/predict", {"images": ("frame.jpg", frame[: len(frame) // 3])}, "/predict [broken]", b"images")
        else:
            self.expect_400("/video", {"video": ("log.mp4", b"camera 7 rebooted\n" * 50)}, "/video [not a video]", b"video")

    def expect_400(self, path: str, files: dict, name: str, field: bytes):
        with self.client.post(path, files=files, name=name, catch_response=True) as response:
            if response.status_code == 400 and field in response.content:
                response.success()
            else:
                response.failure(f"expected 400 naming {field.decode()}, got {response.status_code}")
