"""What every service runs around its endpoints, in one call so no service forgets a part."""

from __future__ import annotations

import os
from http import HTTPStatus

from _bentoml_sdk.io_models import IORootModel
from pydantic import TypeAdapter
from starlette.formparsers import MultiPartException

from bentos.common import forms, limits, memory, openapi, pools, traffic
from bentos.common.docs import Docs
from bentos.common.errors import Envelope
from bentos.common.fastpath import FastPath
from bentos.common.auth import ApiKeys
from bentos.common.limits import BodyLimit
from bentos.common.logs import keep_payloads_out_of_logs
from bentos.common.observability import ValidationFailures, field_paths


def guard(service, spec, body_limits: dict[str, int], doors: dict[str, str] | None = None) -> None:
    """Outermost first: every answer carries the request id and the model version, and every
    non-2xx one the error envelope (bentos/common/errors.py), whose 400s are counted; a JSON
    request of declared length to an interactive route with a valid key, room in the pod and a body
    that validates is answered past BentoML's API layer (bentos/common/fastpath.py, which shares
    the pod's slots and budgets with InFlight); any other request without a valid key is refused
    before its body is read, an oversized body before it is parsed, a pod takes only what it can
    hold (bentos/common/traffic.py); refusals are logged without their payload; an unknown
    parameter is a 400. `spec` is the model's ModelSpec: its non-interactive routes are bulk work.
    `doors`: route -> the pool whose queue it waits in (bentos/common/pools.py): a request it could
    not serve within the latency objective is a 503 before its body is read."""
    memory.return_freed_memory()
    memory.skip_startup_objects_in_collections()
    pools.hand_over_the_interpreter_often()
    traffic.bound_request_metrics()
    traffic.close_silent_connections()
    workers = service.config.get("workers", 1)  # processes: each admits its share of what the pod takes
    pod = traffic.Pod(limits.worker_slots(limits.max_concurrency(), workers), limits.worker_slots(limits.BULK_SLOTS, workers),
                      limits.in_flight_bytes(spec.scratch, body_limits, workers))
    service.add_asgi_middleware(Envelope, model_version=str(service.models[0].tag),
                                on_error=ValidationFailures(spec.name, field_paths(service)))
    allow_browsers(service)
    service.add_asgi_middleware(Docs, document=lambda: published_document(service, spec))
    service.add_asgi_middleware(FastPath, service=service, routes=frozenset(r.path for r in spec.routes if r.interactive),
                                model=spec.name, pod=pod, body_limits=body_limits)
    service.add_asgi_middleware(ApiKeys, model=spec.name)
    service.add_asgi_middleware(BodyLimit, limits=body_limits)
    service.add_asgi_middleware(traffic.InFlight, pod=pod, bulk_routes=frozenset(r.path for r in spec.routes if not r.interactive),
                                doors={path: (pool, spec.latency_objective_s) for path, pool in (doors or {}).items()})
    keep_payloads_out_of_logs()
    forbid_unknown_parameters(service)
    write_json_answers_in_one_pass(service)
    parse_bodies(service)


def published_document(service, spec) -> dict:
    """The service's OpenAPI document as bentos/common/openapi.py makes it: the model version and
    its git commit from the store, the description from the service module's docstring."""
    import sys

    import bentoml

    stored = bentoml.models.get(service.models[0].tag)
    description = (sys.modules[service.inner.__module__].__doc__ or "").strip()
    return openapi.document(service.openapi_spec.asdict(), str(stored.tag), stored.info.labels.get("git_sha", "unknown"),
                            description, spec.routes)


CORS_ENV = "PLAYSERVE_CORS_ORIGINS"  # per deployment: comma-separated origins; unset, no browser page may call the API


def allow_browsers(service) -> None:
    """CORS for the origins of the deployment's configuration, answered before the API key is
    asked for: a browser's preflight carries no credentials (it was a 401). Inside the envelope,
    so a refused preflight is one too; off by default."""
    from starlette.middleware.cors import CORSMiddleware

    origins = [o.strip() for o in os.environ.get(CORS_ENV, "").split(",") if o.strip()]
    if origins:
        service.add_asgi_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"], max_age=600,
                                    allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID", "traceparent"],
                                    expose_headers=["X-Request-ID", "X-Model-Version", "Retry-After"])


def forbid_unknown_parameters(service) -> None:
    """A request naming a parameter the endpoint does not have is a 400 naming it, not silently
    ignored: `{"users": [...], "bootstap": 500}` would otherwise run with the default. (Inside
    records, unknown fields stay ignored: tables carry columns a model does not use.)"""
    for method in service.apis.values():
        method.input_spec.model_config["extra"] = "forbid"
        method.input_spec.model_rebuild(force=True)


def write_json_answers_in_one_pass(service) -> None:
    """BentoML writes a JSON answer as json.dumps(answer.model_dump(mode="json")): a pass building
    Python objects, then Python's encoder (0.5 ms for 100 abuse scores, more than scoring them).
    pydantic-core writes the same values from the validated answer in one pass, compactly, in a
    tenth of that (and a NaN as null, which is JSON). The fast path writes its answers the same way."""
    for method in service.apis.values():
        spec = method.output_spec
        if isinstance(spec, type) and issubclass(spec, IORootModel) and "model_dump_json" not in vars(spec):
            adapter = TypeAdapter(spec.model_fields["root"].annotation)
            spec.model_dump_json = lambda self, adapter=adapter, **options: adapter.dump_json(self.root, **options).decode()


JSON_KINDS = frozenset({"application/json", ""})  # no content type is BentoML's JSON too (httpx, scripts)


def parse_bodies(service) -> None:
    """A route's body must be of its kind, else a 415 naming what to send: a route that takes a
    file takes multipart/form-data only (JSON can carry no file; BentoML answered "Invalid file
    type" without saying what to send), any other route JSON only (BentoML parsed any unknown type
    as JSON, and curl's default form encoding as a form). Multipart bodies are parsed by
    bentos/common/forms.py (each file written once to disk, never held in memory); a form that
    does not fit the endpoint, or whose framing is broken (a bad part header: Starlette raises an
    HTTPException(400), which BentoML's endpoint wrapper answers as a 500), is the caller's error.
    Text in a file field is refused too: BentoML would take it for a URL and fetch it (a request
    forgery)."""
    from bentoml._internal.context import request_temp_dir
    from bentoml.exceptions import BadInput, BentoMLException
    from starlette.exceptions import HTTPException

    for method in service.apis.values():
        spec = method.input_spec
        parse = spec.from_http_request
        file_fields = tuple(getattr(spec, "multipart_fields", ()))

        async def parse_or_refuse(request, serde, parse=parse, spec=spec, file_fields=file_fields):
            kind = form_kind(request)
            try:
                if file_fields and kind == "multipart/form-data":
                    return await forms.parse_form(request, spec, file_fields, request_temp_dir())
                if file_fields:
                    raise BentoMLException(f"{file_fields[0]}: send the file as multipart/form-data, not {kind or 'a body without a content type'}",
                                           error_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
                if kind not in JSON_KINDS:
                    raise BentoMLException(f"request body: send JSON (content type application/json), not {kind}",
                                           error_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
                return await parse(request, serde)
            except forms.FormError as error:
                raise BadInput(str(error)) from None
            except (HTTPException, MultiPartException) as error:
                if getattr(error, "status_code", 400) >= 500:
                    raise
                raise BadInput(f"request body: {getattr(error, 'detail', None) or error.message}") from None

        spec.from_http_request = staticmethod(parse_or_refuse)


def form_kind(request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()
