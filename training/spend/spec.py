"""The spend model's contract with the platform (expected 30-day top-up per user as if un-nudged; the effect of a payment nudge)."""

from training.common.contract import ModelSpec

SPEC = ModelSpec(name="spend", service="bentos.spend.service:Spend", port=3000)
