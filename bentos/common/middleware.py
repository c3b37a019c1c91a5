"""What every service runs around its endpoints, in one call so no service forgets a part."""

from __future__ import annotations

from bentos.common.auth import ApiKeys
from bentos.common.limits import BodyLimit
from bentos.common.logs import keep_payloads_out_of_logs
from bentos.common.observability import ValidationFailures


def guard(service, model: str, body_limits: dict[str, int]) -> None:
    """Outermost first: a request without a valid key is refused before its body is read, an
    oversized body before it is parsed, every 400 that remains is counted, and refusals are logged
    without their payload; an unknown parameter is a 400."""
    service.add_asgi_middleware(ApiKeys, model=model)
    service.add_asgi_middleware(BodyLimit, limits=body_limits)
    service.add_asgi_middleware(ValidationFailures, model=model)
    keep_payloads_out_of_logs()
    forbid_unknown_parameters(service)
    refuse_malformed_forms(service)


def forbid_unknown_parameters(service) -> None:
    """A request naming a parameter the endpoint does not have is a 400 naming it, not silently
    ignored: `{"users": [...], "bootstap": 500}` would otherwise run with the default. (Inside
    records, unknown fields stay ignored: tables carry columns a model does not use.)"""
    for method in service.apis.values():
        method.input_spec.model_config["extra"] = "forbid"
        method.input_spec.model_rebuild(force=True)


def refuse_malformed_forms(service) -> None:
    """A multipart body whose framing is broken (a bad part header) is the caller's error: Starlette
    says so with an HTTPException(400), which BentoML's endpoint wrapper answers as a 500. Text in a
    file field is refused too: BentoML would take it for a URL and fetch it (a request forgery)."""
    from bentoml.exceptions import BadInput
    from starlette.exceptions import HTTPException

    for method in service.apis.values():
        spec = method.input_spec
        parse = spec.from_http_request

        async def parse_or_refuse(request, serde, parse=parse, file_fields=tuple(getattr(spec, "multipart_fields", ()))):
            try:
                if file_fields and is_form(request) and (field := text_in_file_field(await request.form(), file_fields)):
                    raise BadInput(f"{field}: expected an uploaded file, got text")
                return await parse(request, serde)
            except HTTPException as error:
                if error.status_code >= 500:
                    raise
                raise BadInput(f"request body: {error.detail}") from None

        spec.from_http_request = staticmethod(parse_or_refuse)


def is_form(request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("multipart/form-data", "application/x-www-form-urlencoded")


def text_in_file_field(form, file_fields: tuple[str, ...]) -> str | None:
    """The first file field whose value is text rather than an upload."""
    return next((f for f in file_fields if any(isinstance(v, str) for v in form.getlist(f))), None)
