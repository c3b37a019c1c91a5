"""`playserve predict wallhack` and `playserve serve wallhack`'s sibling, the service, agree:
the same stored model, the same preprocessing, the same probabilities."""

import json

import pytest

from tests.conftest import post, run_cli
from training.wallhack import data


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    """A folder of generated screenshots (JPEG, PNG and WebP), one nested, and one broken file."""
    folder = tmp_path_factory.mktemp("shots")
    data.write(folder, 6, seed=31)  # folder/images/*, folder/labels.csv
    (folder / "nested").mkdir()
    (folder / "nested" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "notes.txt").write_text("not an image, and not picked up from a folder")
    return folder


def test_predict_prints_one_line_per_image_matching_the_service(screenshots, wallhack_trained, wallhack_server):
    result = run_cli("predict", "wallhack", str(screenshots), "--model", wallhack_trained["tag"], check=False)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    images = sorted(p for p in screenshots.rglob("*") if p.suffix in {".jpg", ".png", ".webp"})
    assert [line["path"] for line in lines] == [str(p) for p in images] and len(lines) == 7
    broken = next(line for line in lines if line["path"].endswith("broken.png"))
    assert "truncated" in broken["error"] or "not a JPEG" in broken["error"]
    assert result.returncode == 1 and "scored 6 of 7 images" in result.stderr
    scored = [line for line in lines if "error" not in line]
    files = [("images", (line["path"], open(line["path"], "rb").read())) for line in scored]
    response = post(f"{wallhack_server.url}/predict", files=files, timeout=60)
    assert response.status_code == 200, response.text
    served = response.json()
    assert served["model_version"] == wallhack_trained["tag"]
    for line, verdict in zip(scored, served["results"]):
        assert line["probability"] == pytest.approx(verdict["probability"], abs=1e-5)
        assert line["wallhack"] == verdict["wallhack"]


def test_predict_of_single_files_at_a_threshold(screenshots, wallhack_trained):
    first = sorted(screenshots.rglob("*.*g"))[0]
    lines = [json.loads(line) for line in run_cli("predict", "wallhack", str(first), "--threshold", "0",
                                                  "--model", wallhack_trained["tag"]).stdout.splitlines()]
    assert len(lines) == 1 and lines[0]["path"] == str(first) and lines[0]["wallhack"] is True


def test_predict_of_a_missing_path_is_refused(tmp_path):
    result = run_cli("predict", "wallhack", str(tmp_path / "nope.jpg"), check=False)
    message = " ".join(result.stderr.replace("│", " ").split())  # rich wraps the message in a box
    assert result.returncode == 2 and "does not exist" in message
