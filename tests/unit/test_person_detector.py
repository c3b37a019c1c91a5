"""The person detector's serving steps (letterbox, class-collapsing NMS, boxes back to the image),
the HOG baseline, attention, the detection metrics and the YOLO dataset reader and generator."""

from __future__ import annotations

import numpy as np
import pytest

from training.person import data, dataset, evaluate

from training.person.serving import attention, audience, detector
from training.person.serving.detector import Letterboxed, Person


def output(rows: list[tuple]) -> np.ndarray:
    """A network output (4 + 2 classes, anchors) from (cx, cy, w, h, normal, fall) rows."""
    return np.array(rows, np.float32).T


def test_letterbox_keeps_aspect_at_the_top_left_on_grey():
    image = np.full((100, 200, 3), 7, np.uint8)
    boxed = detector.letterbox(image)
    assert boxed.scale == pytest.approx(3.2) and (boxed.width, boxed.height) == (200, 100)
    assert boxed.canvas.shape == (640, 640, 3)
    assert (boxed.canvas[:320] == 7).all() and (boxed.canvas[320:] == detector.PAD_VALUE).all()


def test_boxes_go_back_to_the_image_and_are_clipped():
    boxed = Letterboxed(np.zeros((640, 640, 3), np.uint8), 0.5, 1280, 720)
    back = detector.to_image(np.array([[10, 20, 110, 220], [600, 300, 700, 400]], np.float32), boxed)
    np.testing.assert_allclose(back, [[20, 40, 220, 440], [1200, 600, 1280, 720]])


def test_every_class_is_a_person_and_nms_ignores_classes():
    rows = [(100, 100, 50, 120, 0.9, 0.0),   # a person
            (102, 101, 50, 118, 0.1, 0.6),   # the same person as "fall": suppressed despite its other class
            (400, 300, 40, 100, 0.0, 0.5),   # another person, only as "fall"
            (500, 500, 40, 100, 0.3, 0.2)]   # below the confidence floor
    boxes, scores = detector.people(output(rows), min_confidence=0.4)
    np.testing.assert_allclose(scores, [0.9, 0.5])
    np.testing.assert_allclose(boxes, [[75, 40, 125, 160], [380, 250, 420, 350]])


def test_no_box_above_the_floor_is_no_person():
    boxes, scores = detector.people(output([(100, 100, 50, 120, 0.1, 0.1)]))
    assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_the_head_region_is_the_top_of_the_box():
    assert attention.head_region((100, 100, 200, 400), 1000, 1000) == (90, 90, 210, 210)
    assert attention.head_region((0, 0, 300, 100), 250, 1000) == (0, 0, 250, 130)  # clipped; a wide box's height caps it


def test_a_face_turned_away_is_not_looking():
    from training.common.faces import FaceDetector, packaged_detector
    from training.person import photos

    faces, rgb = FaceDetector(packaged_detector()), photos.load("astronaut")
    person = (0, 28, 379, 510)
    assert attention.looking(faces, rgb, person)
    x0, y0, x1, y1 = attention.head_region(person, rgb.shape[1], rgb.shape[0])
    blank = rgb.copy()
    blank[y0:y1, x0:x1] = blank[y0:y1, x0:x1].mean(axis=(0, 1)).astype(np.uint8)  # no face left in the head region
    assert not attention.looking(faces, blank, person)


def test_the_audience_summary():
    assert audience.summary([4, 2, 0], [3, 2, 0]) == {"peak_audience": 4, "average_audience": 2.0, "attention_share": round(5 / 6, 4)}
    assert audience.summary([], []) == {"peak_audience": 0, "average_audience": 0.0, "attention_share": 0.0}


def test_hog_finds_fewer_people_than_there_are_on_bus_jpg():
    from training.person import photos
    from training.person.hog import HogDetector

    found = HogDetector().detect([photos.load("bus")])[0]
    assert 0 < len(found) < 4 and all(p.box[2] > p.box[0] for p in found)


def test_perfect_predictions_score_one_and_misses_lower_it():
    truth = [np.array([[10, 10, 50, 110], [100, 10, 140, 110]], np.float32), np.zeros((0, 4), np.float32)]
    perfect = [[Person(tuple(b), 0.9) for b in truth[0]], []]
    scored = evaluate.metrics(perfect, truth, 0.5)
    assert scored["map50"] == scored["map50_95"] == pytest.approx(1, abs=0.01)  # COCO's 101-point curve tops out at 0.995
    assert (scored["count_mae"], scored["count_exact"], scored["images"], scored["people"]) == (0.0, 1.0, 2, 2)
    shifted = [[Person((15, 15, 55, 115), 0.9), Person((100, 10, 140, 110), 0.3)], [Person((0, 0, 9, 9), 0.8)]]
    scored = evaluate.metrics(shifted, truth, 0.5)
    assert 0.5 < scored["map50"] < 0.9 and scored["map50_95"] < scored["map50"]  # a confident false person ranks above a true one
    assert scored["count_mae"] == 1.0 and scored["count_exact"] == 0.0  # one below the count threshold, one false person


def test_a_prediction_matches_one_box_only():
    hits = evaluate.true_positives(np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32), np.array([[0, 0, 10, 10]], np.float32))
    assert hits[:, 0].tolist() == [True, False]


def test_the_generated_dataset_reads_back(tmp_path):
    data_yaml = data.write(tmp_path / "people", images=20, seed=3)
    settings = dataset.config(data_yaml)
    splits = {split: dataset.examples(settings, split) for split in ("train", "val", "test")}
    assert [len(s) for s in splits.values()] == [14, 3, 3]
    boxes = np.concatenate([e.boxes for s in splits.values() for e in s])
    assert len(boxes) > 10 and (boxes >= 0).all() and (boxes <= data.IMAGE_SIZE).all() and (boxes[:, 2:] > boxes[:, :2]).all()
    assert settings[data.GENERATED_MARK] is True


@pytest.mark.parametrize("write, problem", [
    (None, "no such file"),
    ("names: {0: person}\n", "needs `train`, `val` and `names`"),
    ("train: images/train\nval: images/val\nnames: {0: person}\n", "no images"),
])
def test_a_bad_dataset_is_named(tmp_path, write, problem):
    data_yaml = tmp_path / "data.yaml"
    if write is not None:
        data_yaml.write_text(write)
    with pytest.raises(dataset.DatasetError, match=problem):
        dataset.examples(dataset.config(data_yaml), "train")


def test_a_bad_label_row_is_named(tmp_path):
    data_yaml = data.write(tmp_path / "people", images=20)
    settings = dataset.config(data_yaml)
    image = dataset.examples(settings, "train")[0].image
    dataset.label_path(image).write_text("0 0.5 0.5 1.7 0.2\n")
    with pytest.raises(dataset.DatasetError, match=r"\.txt: each row must be `class cx cy w h`"):
        dataset.examples(settings, "train")


def test_importing_ultralytics_leaves_image_decoding_alone():
    from training.common.images import ImageError, decode
    from training.person import export

    export.import_ultralytics()
    with pytest.raises(ImageError) as refused:
        decode(b"plain text, not an image")
    assert refused.value.reason == "not_an_image"
