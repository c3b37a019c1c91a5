"""One frame -> faces with boxes and emotion probabilities: detect, crop, classify. Used by the
service, the CLI and the benchmark alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.emotion.serving import expression
from training.common.faces import MIN_CONFIDENCE, FaceDetector


@dataclass(frozen=True)
class FaceEmotions:
    box: tuple[int, int, int, int]
    confidence: float
    emotions: np.ndarray  # (7,) probabilities in expression.EMOTIONS order

    @property
    def dominant(self) -> str:
        return expression.EMOTIONS[int(np.argmax(self.emotions))]

    def as_dict(self) -> dict:
        return {"box": list(self.box), "confidence": self.confidence, "dominant": self.dominant,
                "emotions": {e: round(float(p), 4) for e, p in zip(expression.EMOTIONS, self.emotions)}}


class Analyser:
    """A registered emotion model's directory -> the detector and the expression model."""

    def __init__(self, model_dir: Path, min_confidence: float = MIN_CONFIDENCE, threads: int = 0):
        self.detector = FaceDetector(model_dir, min_confidence)
        self.session = expression.session(model_dir / expression.ONNX_FILE, threads)

    def faces(self, rgb: np.ndarray) -> list[FaceEmotions]:
        """uint8 (H, W, 3) RGB frame -> its faces, most confident first; [] when there is none."""
        found = self.detector.detect(rgb)
        if not found:
            return []
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        crops = np.stack([expression.crop(gray, face.box) for face in found])
        probabilities = expression.probabilities(self.session, crops)
        return [FaceEmotions(face.box, face.confidence, p) for face, p in zip(found, probabilities)]
