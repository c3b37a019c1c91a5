"""The emotion service over real HTTP: faces and emotions per image, a live session frame by
frame, the session report as JSON and as an HTML page, and bad input refused by name (no face
is an answer, not an error) while the service keeps serving."""

from __future__ import annotations

import cv2
import httpx
import numpy as np
import pytest

from tests.conftest import error_of, png_claiming, post, screenshot
from training.emotion import real_faces, sample_video
from training.emotion.serving import html
from training.emotion.serving.expression import EMOTIONS


def jpeg(rgb) -> bytes:
    return cv2.imencode(".jpg", rgb[..., ::-1])[1].tobytes()


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    return {p.name: jpeg(p.rgb) for p in real_faces.photos()}


def predict(server, images: list[bytes]) -> httpx.Response:
    return post(f"{server.url}/predict", files=[("images", (f"frame{i}.jpg", image)) for i, image in enumerate(images)], timeout=60)


def stream(server, session: str, frame: int, image: bytes) -> httpx.Response:
    return post(f"{server.url}/stream", data={"session_id": session, "frame": str(frame)},
                      files={"image": ("frame.jpg", image)}, timeout=60)


def report(server, path, route: str = "/report", **form) -> httpx.Response:
    with open(path, "rb") as video:
        return post(f"{server.url}{route}", files={"video": (path.name, video)}, data={k: str(v) for k, v in form.items()}, timeout=300)


def test_faces_boxes_and_emotions_per_image(emotion_server, emotion_trained, photos):
    response = predict(emotion_server, [photos["astronaut"], photos["coffee"], photos["camera"]])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == emotion_trained["tag"] and [r["index"] for r in body["results"]] == [0, 1, 2]
    (astronaut,), no_face, (cameraman,) = (r["faces"] for r in body["results"])
    assert no_face == []  # no face is a valid, empty answer
    assert astronaut["dominant"] == "happy" and astronaut["emotions"]["happy"] > 0.9
    assert list(astronaut["emotions"]) == list(EMOTIONS) and sum(astronaut["emotions"].values()) == pytest.approx(1, abs=1e-3)
    x0, y0, x1, y1 = astronaut["box"]
    assert 150 < x0 < x1 < 300 and 30 < y0 < y1 < 200 and astronaut["confidence"] > 0.9
    assert cameraman["dominant"] in EMOTIONS


def test_a_live_session_keeps_its_face_takes_retries_and_late_frames_and_closes(emotion_server, photos):
    first = stream(emotion_server, "playtest-7", 0, photos["astronaut"]).json()
    second = stream(emotion_server, "playtest-7", 2, photos["astronaut"]).json()
    other = stream(emotion_server, "playtest-8", 0, photos["camera"]).json()
    assert first["faces"][0]["track_id"] == second["faces"][0]["track_id"] == other["faces"][0]["track_id"] == 1
    assert second["frame"] == 2 and second["time_s"] >= first["time_s"] == 0
    assert second["faces"][0]["smoothed"]["happy"] > 0.9
    late = stream(emotion_server, "playtest-7", 1, photos["astronaut"])  # a parallel upload, within the reorder window
    assert late.status_code == 200 and late.json()["faces"][0]["track_id"] == 1
    assert stream(emotion_server, "playtest-7", 2, photos["coffee"]).json() == second  # a retry gets its first answer
    empty = stream(emotion_server, "playtest-7", 30, photos["coffee"])
    assert empty.status_code == 200 and empty.json()["faces"] == []
    too_late = stream(emotion_server, "playtest-7", 3, photos["astronaut"])
    assert too_late.status_code == 409 and "frame: 3 is more than 8 frames behind this session's newest frame 30" in too_late.text
    closed = post(f"{emotion_server.url}/stream/close", json={"session_id": "playtest-7"}, timeout=30)
    assert closed.status_code == 200 and closed.json()["frames"] == 4 and closed.json()["tracks"][0]["dominant"] == "happy"
    assert post(f"{emotion_server.url}/stream/close", json={"session_id": "playtest-7"}, timeout=30).status_code == 404


def test_session_report_as_json(emotion_server, session_video):
    response = report(emotion_server, session_video)
    assert response.status_code == 200, response.text
    body = response.json()
    summary, timeline = body["summary"], body["timeline"]
    assert summary["duration_s"] == 24 and summary["sampled_frames"] == 48 and len(timeline) == 24
    # The script: astronaut 0-4 s, nothing 4-6, cameraman 6-10, nothing 10-12, and again.
    for row in timeline:
        scene = sample_video.scene_at(row["second"])
        assert (row["shares"] is None) == (scene == "coffee"), row
        if scene == "astronaut":
            assert max(row["shares"], key=row["shares"].get) == "happy"
    assert summary["faces_tracked"] == 4 and summary["share_of_time_with_face"] == pytest.approx(16 / 24, abs=1e-3)
    assert body["moments"] and all(sample_video.scene_at(s) != "coffee" for m in body["moments"] for s in range(m["start_s"], m["end_s"]))
    assert [t["dominant"] for t in body["tracks"]][::2] == ["happy", "happy"]


def test_session_report_as_a_self_contained_page(emotion_server, session_video):
    response = report(emotion_server, session_video, "/report/html", sample_rate=1, title="Level 3 <playtest>")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<svg" in page and "Level 3 &lt;playtest&gt;" in page and "<script" not in page and "http" not in page


YELLOW = np.array([242, 183, 1])  # happy's colour on the page (training/emotion/serving/html.py COLOURS)


def test_the_report_page_draws_its_timeline_and_numbered_moments_in_a_browser(emotion_server, session_video, tmp_path):
    """Headless Chromium draws the page the service answers; the pixels must show the session:
    happy bars over the astronaut's seconds, nothing over the empty scenes, and a frame around each
    moment's span where the JSON report puts it. The page's geometry: a 1,000 px body 32 px in (a
    1,100 px window), the timeline's 960 x 240 viewBox across it."""
    expected = report(emotion_server, session_video, sample_rate=1).json()
    page = tmp_path / "report.html"
    page.write_text(report(emotion_server, session_video, "/report/html", sample_rate=1, source="session.mp4").text)
    pixels = screenshot(page, tmp_path / "report.png").astype(int)
    scale, step = 1000 / html.WIDTH, (html.WIDTH - html.LEFT) / len(expected["timeline"])
    column = lambda second: round(32 + (html.LEFT + second * step) * scale)  # noqa: E731 - the page's x of a second's start
    astronaut = column(1.5)
    yellow_rows = np.flatnonzero((np.abs(pixels[:, astronaut] - YELLOW) < 30).all(axis=1))
    top = yellow_rows[0] if len(yellow_rows) else 0
    bottom = top + np.argmax(np.diff(np.append(yellow_rows, -1)) != 1)  # the first run: the timeline (the session's bar is lower)
    assert bottom - top > 150, f"no happy bar where the astronaut is: {tmp_path / 'report.png'}"
    band = pixels[top:bottom + 1]
    empty = band[:, column(4.5)]  # 4-6 s: the empty scene, hatched
    assert (empty > 180).all(axis=1).mean() > 0.9
    assert expected["moments"] and [m["number"] for m in expected["moments"]] == list(range(1, len(expected["moments"]) + 1))
    for moment in expected["moments"]:
        edges = band[:, column(moment["start_s"]) - 3:column(moment["start_s"]) + 4]
        dark = (edges < 70).all(axis=2).mean(axis=0)  # share of the band each of these columns is dark
        assert dark.max() > 0.8, (moment, f"no frame at its start: {tmp_path / 'report.png'}")


@pytest.mark.parametrize("content, expected", [
    (b"", "images[0]: the upload is empty"),
    (b"<html>not a frame</html>", "images[0]: not a JPEG, PNG or WebP image"),
    (png_claiming(20_000, 20_000), "images[0]: over the 36,000,000-pixel limit"),
])
def test_bad_images_are_refused_by_name(emotion_server, content, expected):
    response = predict(emotion_server, [content])
    assert response.status_code == 400 and expected in response.text, response.text


def test_a_truncated_image_is_refused_by_its_place(emotion_server, photos):
    response = predict(emotion_server, [photos["astronaut"], photos["camera"][:2000]])
    assert response.status_code == 400 and "images[1]: the file is truncated" in response.text


def test_too_many_images_and_bad_stream_fields(emotion_server, photos):
    assert predict(emotion_server, [photos["coffee"]] * 17).status_code == 400
    for form in ({"session_id": "bad id with spaces", "frame": "0"}, {"session_id": "ok", "frame": "-1"},
                 {"session_id": "ok", "frame": "first"}, {"frame": "0"}):
        response = post(f"{emotion_server.url}/stream", data=form, files={"image": ("f.jpg", photos["coffee"])}, timeout=30)
        assert response.status_code == 400, (form, response.text)
        assert ("session_id" if "session_id" not in form or " " in form["session_id"] else "frame") in response.text


def test_bad_videos_are_refused_by_name(emotion_server, session_video, photos, tmp_path):
    cases = {"photo.mp4": photos["astronaut"], "notes.mp4": b"not a video\n" * 200, "empty.mp4": b"",
             "head.mp4": session_video.read_bytes()[:20_000]}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        response = report(emotion_server, tmp_path / name)
        assert response.status_code == 400 and error_of(response)["message"].startswith("video: "), (name, response.text)
    for rate in (0, 11, "fast"):
        response = report(emotion_server, session_video, sample_rate=rate)
        assert response.status_code == 400 and "sample_rate" in response.text, (rate, response.text)


def test_the_service_keeps_serving_and_logs_no_picture_or_session(emotion_server, photos):
    assert predict(emotion_server, [photos["astronaut"]]).json()["results"][0]["faces"][0]["dominant"] == "happy"
    metrics = httpx.get(f"{emotion_server.url}/metrics").text
    assert 'playserve_image_decode_failures_total{model="emotion",reason="not_a_video"}' in metrics
    log = emotion_server.log.read_bytes()
    assert b"JFIF" not in log and b"playtest-7" not in log and b"\xff\xd8" not in log
