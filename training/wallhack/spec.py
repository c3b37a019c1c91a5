"""The wallhack model's contract with the platform (does a screenshot show a wallhack / ESP overlay)."""

from training.common.contract import ModelSpec

SPEC = ModelSpec(name="wallhack", service="bentos.wallhack.service:Wallhack", port=3001)
