"""The person model's contract with the platform (people in front of an ad per camera frame and how many face it)."""

from training.common.contract import ModelSpec

SPEC = ModelSpec(name="person", service="bentos.person.service:Person", port=3003)
