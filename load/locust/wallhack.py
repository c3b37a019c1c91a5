"""Traffic on the wallhack service as anti-cheat sends it: one screenshot per suspicious kill,
bursts of a match's screenshots, reviewers' explanations, and the broken uploads any pipeline
produces (truncated files, wrong content), which must be answered 400 and are counted as success
here. Each user is one uploader pausing 0.5-2 s between calls: 8 users send ~15 screenshots/s,
about 2.5 times the stated average volume (500,000 a day).

    .venv/bin/locust -f load/locust/wallhack.py --headless -u 8 -r 4 -t 60s --host http://127.0.0.1:3000

Screenshots come from the training generator (training/wallhack/data.py): every resolution,
format and quality it draws, about half with ESP overlays."""

from __future__ import annotations

import random

from locust import HttpUser, between, task

from load.locust import bulk
from playserve.api_keys import client_key
from training.wallhack import data

SCREENSHOTS = [data.sample(seed=404, index=i).image for i in range(48)]


def files(images: list[bytes]) -> list[tuple]:
    return [("images", (f"shot{i}.jpg", image)) for i, image in enumerate(images)]


class AntiCheat(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self):
        self.client.headers["X-API-Key"] = client_key()  # $PLAYSERVE_API_KEY or the local client's

    @task(70)
    def one_screenshot(self):
        self.client.post("/predict", files=files([random.choice(SCREENSHOTS)]), name="/predict [1 image]")

    @task(25)
    def match_burst(self):
        self.client.post("/predict", files=files(random.sample(SCREENSHOTS, random.randint(2, 8))), name="/predict [2-8 images]")

    @task(3)
    def reviewer_explanation(self):
        bulk.post(self.client, "/explain", files={"image": ("shot.jpg", random.choice(SCREENSHOTS))}, name="/explain")

    @task(5)
    def broken_upload(self):
        image = random.choice(SCREENSHOTS)
        broken = random.choice((image[: len(image) // 3], b"<html>not a screenshot</html>", b""))
        with self.client.post("/predict", files=files([broken]), name="/predict [broken]", catch_response=True) as response:
            if response.status_code == 400 and b"images" in response.content:
                response.success()
            else:
                response.failure(f"expected 400 naming the image, got {response.status_code}")
