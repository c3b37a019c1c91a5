"""What every locust file expects of a bulk route (the spec's non-interactive routes): a pod runs
two bulk requests at a time and answers a third 429 with Retry-After at once. That is the contract
(README, "Limits"), not a failure; anything else but a 200 is."""

from __future__ import annotations


def post(client, path: str, **request) -> None:
    """`client`: a locust HttpUser's client; `request`: what client.post takes besides the path."""
    with client.post(path, catch_response=True, **request) as response:
        if response.status_code == 429 and response.headers.get("retry-after"):
            response.success()
        elif response.status_code != 200:
            response.failure(f"expected 200, or 429 with Retry-After, got {response.status_code}")
