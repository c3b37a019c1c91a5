"""The abuse model's contract with the platform (which users' economy behaviour a review team should check first)."""

from training.common.contract import ModelSpec

SPEC = ModelSpec(name="abuse", service="bentos.abuse.service:Abuse", port=3004)
