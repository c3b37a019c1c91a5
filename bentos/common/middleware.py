"""The middlewares every service runs, in one call so no service forgets one."""

from __future__ import annotations

from bentos.common.auth import ApiKeys
from bentos.common.limits import BodyLimit
from bentos.common.observability import ValidationFailures


def guard(service, model: str, body_limits: dict[str, int]) -> None:
    """Outermost first: a request without a valid key is refused before its body is read, an
    oversized body before it is parsed, and every 400 that remains is counted."""
    service.add_asgi_middleware(ApiKeys, model=model)
    service.add_asgi_middleware(BodyLimit, limits=body_limits)
    service.add_asgi_middleware(ValidationFailures, model=model)
