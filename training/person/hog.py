"""The baseline: OpenCV's HOG + linear SVM pedestrian detector (Dalal and Triggs), with the usual
settings, on the image scaled so its long side is 640 pixels like the YOLO input."""

from __future__ import annotations

import cv2
import numpy as np

from training.person.serving.detector import SIZE, Person

NMS_IOU = 0.45


class HogDetector:
    def __init__(self):
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(self, images: list[np.ndarray]) -> list[list[Person]]:
        return [self.detect_one(image) for image in images]

    def detect_one(self, rgb: np.ndarray) -> list[Person]:
        scale = min(1.0, SIZE / max(rgb.shape[:2]))
        small = cv2.resize(rgb, None, fx=scale, fy=scale) if scale < 1 else rgb
        boxes, weights = self.hog.detectMultiScale(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY),
                                                   winStride=(8, 8), padding=(8, 8), scale=1.05)
        if not len(boxes):
            return []
        weights = np.ravel(weights)
        keep = np.asarray(cv2.dnn.NMSBoxes(boxes.tolist(), weights.tolist(), 0.0, NMS_IOU), dtype=int).reshape(-1)
        return sorted((Person(tuple(round(float(v) / scale, 1) for v in (x, y, x + w, y + h)), round(float(weights[i]), 4))
                       for i, (x, y, w, h) in zip(keep, boxes[keep])), key=lambda p: -p.confidence)
