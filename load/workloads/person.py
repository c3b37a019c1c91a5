"""The person benchmark's workload: one camera frame per request, and the real-photo comparison against HOG."""

from __future__ import annotations

import httpx
import numpy as np

from load.bench import Workload


def workload(tag: str) -> tuple[str, Workload]:
    """One 640x480 camera frame per request (a real photo, bus.jpg: four people); bare: decode,
    letterbox, ONNX Runtime, NMS and the attention check, as the service does them, c threads at
    once on a session made as the service makes it (it runs two requests' models at once). Extra: people found and milliseconds per photo against OpenCV's HOG on the real photos (the
    comparison DOMAIN.md's team made)."""
    import cv2

    from training.common.images import decode
    from training.common.sample_video import fit
    from training.common.store import get
    from training.person import photos
    from training.person.serving.audience import Audience

    stored = get(tag)
    audience = Audience(stored.path)
    frame = cv2.imencode(".jpg", fit(photos.load("bus"), 640, 480)[..., ::-1])[1].tobytes()
    content_type = "multipart/form-data; boundary=playserve-bench"
    body = httpx.Request("POST", "/predict", files=[("images", ("frame.jpg", frame))], headers={"content-type": content_type}).read()

    def bare(n: int) -> list:
        return audience.frames([np.asarray(decode(frame)) for _ in range(n)])

    return stored.tag, Workload("/predict", body, bare, content_type=content_type, requests=300, adaptive=False,
                                webcam_fps=1 / 3, extra=lambda _: people_against_hog(stored))


def people_against_hog(stored) -> dict:
    """The registered model's real-photo comparison (measured when it was trained, in one run)."""
    real = stored.metadata["real_photos"]
    rows = [f"| {r['photo']} | {r['people']} | {r['yolo']} | {r['hog']} | {r['yolo_ms']:.0f} | {r['hog_ms']:.0f} |" for r in real["photos"]]
    yolo, hog = real["summary"]["yolo"], real["summary"]["hog"]
    totals = (f"| **all {real['images']} photos** | {real['people']} | {yolo['people_found']} found, {yolo['false_people']} false | "
              f"{hog['people_found']} found, {hog['false_people']} false | {yolo['ms_per_image']:.0f} | {hog['ms_per_image']:.0f} |")
    return {**real, "lines": ["People found per real photo, YOLO (this model, ONNX Runtime) against OpenCV's HOG pedestrian detector, "
                              "with milliseconds per photo (from the model's registration run):", "",
                              "| photo | people | YOLO | HOG | YOLO ms | HOG ms |", "|---|---|---|---|---|---|", *rows, totals]}
