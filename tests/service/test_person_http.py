"""The person service over real HTTP: people per camera frame (batched), how many face the screen,
a recording's audience over time, and bad input refused by name while the service keeps serving."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import error_of, png_claiming, post
from training.person import photos, sample_video


def predict(server, images: list[bytes], **form) -> httpx.Response:
    return post(f"{server.url}/predict", files=[("images", (f"frame{i}.jpg", image)) for i, image in enumerate(images)],
                      data={k: str(v) for k, v in form.items()}, timeout=120)


def recording(server, path, **form) -> httpx.Response:
    with open(path, "rb") as video:
        return post(f"{server.url}/video", files={"video": (path.name, video)}, data={k: str(v) for k, v in form.items()}, timeout=300)


@pytest.fixture(scope="module")
def bus() -> bytes:
    return photos.ultralytics_asset("bus.jpg").read_bytes()


@pytest.fixture(scope="module")
def zidane() -> bytes:
    return photos.ultralytics_asset("zidane.jpg").read_bytes()


def test_people_are_counted_per_image(person_server, person_trained, bus, zidane):
    response = predict(person_server, [bus, zidane])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == person_trained["tag"] and body["min_confidence"] == pytest.approx(0.4)
    first, second = body["results"]
    assert (first["index"], first["count"], second["count"]) == (0, 4, 2)
    assert second["looking"] == 2 and 2 <= first["looking"] <= 4
    assert all(0 <= x0 < x1 <= 810 and 0 <= y0 < y1 <= 1080 for x0, y0, x1, y1 in (p["box"] for p in first["people"]))
    assert [p["confidence"] for p in first["people"]] == sorted((p["confidence"] for p in first["people"]), reverse=True)


def test_the_confidence_floor_is_per_request(person_server, bus):
    strict = predict(person_server, [bus], min_confidence=0.6).json()["results"][0]
    assert strict["count"] == 2 and all(p["confidence"] >= 0.6 for p in strict["people"])


def honouring_retry_after(send, attempts: int = 10) -> httpx.Response:
    """A well-behaved client: a 503 (the model's queue is full) is tried again after its Retry-After."""
    import time

    for _ in range(attempts):
        response = send()
        if response.status_code != 503:
            return response
        time.sleep(float(response.headers["retry-after"]))
    return response


def test_concurrent_requests_share_the_model_and_get_their_own_answers(person_server, bus, zidane):
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(6) as pool:  # more than two cores serve within 2 s: some wait their turn outside
        answers = list(pool.map(lambda i: honouring_retry_after(lambda: predict(person_server, [bus if i % 2 else zidane])), range(12)))
    assert all(a.status_code == 200 for a in answers)
    assert [a.json()["results"][0]["count"] for a in answers] == [2, 4] * 6


def test_a_recordings_audience_per_second_and_dwell_time(person_server, ad_video):
    response = recording(person_server, ad_video)
    assert response.status_code == 200, response.text
    body = response.json()
    summary = body["summary"]
    assert summary["duration_s"] == pytest.approx(28, abs=0.2) and summary["sampled_frames"] == 56
    assert summary["peak_audience"] == 4 and 0.5 < summary["attention_share"] <= 1
    for row in body["per_second"]:
        want = sample_video.people_at(row["second"] + 0.5)
        assert (3 <= row["people"] <= 4) if want == 4 else row["people"] == want, row
    # zidane.jpg's two people each stay the whole 4 s scene, twice
    long_stays = [p for p in body["people"] if p["dwell_s"] >= 3.5]
    assert len(long_stays) >= 6 and all(p["dwell_s"] <= 4.5 for p in body["people"])
    assert summary["people_tracked"] == len(body["people"]) >= 8


def test_bad_images_are_refused_by_name(person_server, bus, tmp_path):
    cases = {
        b"": "images[1]: the upload is empty",
        bus[:5000]: "images[1]: the file is truncated",
        b"not an image at all": "images[1]: not a JPEG, PNG or WebP image",
        png_claiming(50_000, 50_000): "images[1]: over the 36,000,000-pixel limit",
    }
    for payload, message in cases.items():
        response = predict(person_server, [bus, payload])
        assert response.status_code == 400 and message in response.text, (message, response.text)
    too_many = predict(person_server, [bus] * 17)
    assert too_many.status_code == 400 and "images" in too_many.text
    for value in ("2", "nan", "abc"):
        response = predict(person_server, [bus], min_confidence=value)
        assert response.status_code == 400 and "min_confidence" in response.text, value


def test_bad_videos_are_refused_by_name(person_server, ad_video, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(ad_video.read_bytes()[:2000])
    assert "video: not a video container" in recording(person_server, text).text
    response = recording(person_server, truncated)
    assert response.status_code == 400 and error_of(response)["message"].startswith("video: ")
    response = recording(person_server, ad_video, sample_rate=0)
    assert response.status_code == 400 and "sample_rate" in response.text


def test_the_service_still_serves_and_counts_what_it_saw(person_server, bus):
    assert predict(person_server, [bus]).json()["results"][0]["count"] == 4
    metrics = httpx.get(f"{person_server.url}/metrics", timeout=10).text
    assert 'playserve_prediction_count{model="person",output="people"}' in metrics
    assert 'playserve_image_decode_failures_total{model="person",reason="truncated"}' in metrics
    assert 'playserve_input_rows_count{endpoint="predict",model="person"}' in metrics
    assert 'playserve_input_rows_count{endpoint="video",model="person"}' in metrics


def test_frames_a_replica_cannot_serve_in_time_are_refused_at_once_with_retry_after(person_server, bus):
    """Before: 90 concurrent frames got 26 x 429 without Retry-After and 55 x 503 ("An unexpected
    error has occurred") after 2.5-13 s in the batcher's queue. The model pool's door
    (bentos/common/pools.py) refuses a frame that would wait more than two 2 s objectives: 60
    concurrent frames, ~9 s of work for two cores."""
    import asyncio
    import time

    from tests.conftest import AUTH

    async def one(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
        start = time.monotonic()
        response = await client.post("/predict", files=[("images", ("frame.jpg", bus))])
        return response, time.monotonic() - start

    async def flood() -> list[tuple[httpx.Response, float]]:
        async with httpx.AsyncClient(base_url=person_server.url, headers=AUTH, timeout=120, limits=httpx.Limits(max_connections=60)) as client:
            return await asyncio.gather(*(one(client) for _ in range(60)))

    async def warm() -> None:  # the pool learns what a frame takes with two running at once
        async with httpx.AsyncClient(base_url=person_server.url, headers=AUTH, timeout=120) as client:
            await asyncio.gather(*(one(client) for _ in range(4)))

    asyncio.run(warm())
    answers = asyncio.run(flood())
    served = [seconds for response, seconds in answers if response.status_code == 200]
    refused = [(response, seconds) for response, seconds in answers if response.status_code != 200]
    assert served and refused and {r.status_code for r, _ in refused} == {503}, [(r.status_code, r.text[:100]) for r, _ in refused]
    assert all(r.headers.get("retry-after") and error_of(r)["code"] == "unavailable" and "overloaded" in error_of(r)["message"]
               for r, _ in refused)
    assert max(seconds for _, seconds in refused) < 2.0  # at the door, not after a wait
    assert max(served) < 12.0  # the admitted ones waited about 4 s at most for a model thread (as the door estimates it)
    assert predict(person_server, [bus]).status_code == 200
