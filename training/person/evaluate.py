"""Detection quality on labelled images: mAP50 and mAP50-95 (COCO's IoU thresholds, through
ultralytics' own average-precision code) and how far the people counted are from the people there."""

from __future__ import annotations

import numpy as np

from training.person.serving.detector import Person

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(P, 4) and (G, 4) x0 y0 x1 y1 -> (P, G) intersection over union."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    area = lambda boxes: (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def true_positives(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(P, 10) bool: whether each prediction (most confident first) matches a box not matched yet,
    at each IoU threshold."""
    hits = np.zeros((len(predicted), len(IOU_THRESHOLDS)), bool)
    if not len(predicted) or not len(truth):
        return hits
    overlaps = iou_matrix(predicted, truth)
    for t, threshold in enumerate(IOU_THRESHOLDS):
        taken = np.zeros(len(truth), bool)
        for p in range(len(predicted)):
            candidates = np.where(~taken & (overlaps[p] >= threshold))[0]
            if len(candidates):
                best = candidates[overlaps[p, candidates].argmax()]
                taken[best] = hits[p, t] = True
    return hits


def metrics(predictions: list[list[Person]], truths: list[np.ndarray], count_confidence: float) -> dict:
    """Predictions per image (at a low confidence, for the precision-recall curve) against the
    true boxes; counts use the people at `count_confidence` and above."""
    from training.person.export import import_ultralytics

    import_ultralytics()
    from ultralytics.utils.metrics import ap_per_class

    hits, confidences = [], []
    for people, truth in zip(predictions, truths):
        people = sorted(people, key=lambda p: -p.confidence)
        boxes = np.array([p.box for p in people], np.float32).reshape(-1, 4)
        hits.append(true_positives(boxes, truth))
        confidences.extend(p.confidence for p in people)
    hits = np.concatenate(hits) if hits else np.zeros((0, len(IOU_THRESHOLDS)), bool)
    labels = np.zeros(sum(len(t) for t in truths))
    ap = ap_per_class(hits, np.array(confidences), np.zeros(len(confidences)), labels)[5] if len(labels) else np.zeros((1, 10))
    counted = np.array([sum(p.confidence >= count_confidence for p in people) for people in predictions])
    true_counts = np.array([len(t) for t in truths])
    return {
        "map50": round(float(ap[:, 0].mean()) if len(ap) else 0.0, 4),
        "map50_95": round(float(ap.mean()) if len(ap) else 0.0, 4),
        "count_mae": round(float(np.abs(counted - true_counts).mean()), 4),
        "count_exact": round(float((counted == true_counts).mean()), 4),
        "images": len(truths),
        "people": int(true_counts.sum()),
    }
