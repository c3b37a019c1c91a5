"""The emotion model's contract with the platform (faces and seven emotions per webcam frame; an emotion report per playtest video)."""

from training.common.contract import ModelSpec

SPEC = ModelSpec(name="emotion", service="bentos.emotion.service:Emotion", port=3002)
