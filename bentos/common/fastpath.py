"""JSON requests to a model's interactive routes, answered past BentoML's API layer.

BentoML's API layer costs more than a one-record model call: its `@bentoml.api` echo answers about
half the requests/s of the same echo mounted as an ASGI app (load/results/floor.md), for a serde per
request, the body read through Starlette's Request, the adaptive batcher's queue, a hop to the
sync thread and back, and a response iterated in chunks. A game server asking about one player
paid all of that for a model call of ~0.1 ms.

So a request to one of the spec's interactive routes whose method is sync and takes JSON, with a
declared length within the route's body limit, is validated here with the route's own input
model, the service's method is called right away (as the batcher calls it on a batch of this
request alone), and the answer is written by the route's own output model: the bytes and headers
BentoML answers with, in one piece. A body of at most SMALL_BODY is answered in the event loop; a
larger one on a thread of its own pool, so the loop goes on serving the small ones. BentoML's API
layer added as much again to a 10,000-user spend request (its batcher merges nothing into a
request that size). Anything else (a chunked body, another content type, input that does not
validate, an error in the method) goes on to BentoML, which answers it as before: the methods
change nothing before they succeed.

This is the outermost of `guard`'s middlewares and does their part for the requests it answers,
in one layer (the four layers cost ~60 us a request, as much as a model call): the key must let
its client call the route (else ApiKeys, next, refuses it), the body must be within the route's
limit and fit the pod's budget of bytes in flight (else BodyLimit and InFlight refuse it), and it
is admitted as InFlight admits a body (traffic.Admission: a body that stops arriving or arrives too
slowly is a 408, and one with no free slot a 429). This path answers no 400 for
ValidationFailures to count. BentoML's own outer middleware (request metrics, tracing, access log)
sees these requests as any other; CORS, when a deployment enables it, and the error envelope are
outside this path (bentos/common/middleware.py)."""

from __future__ import annotations

import functools
import inspect

from _bentoml_sdk.io_models import IORootModel
from bentoml._internal.context import trace_context

from bentos.common import pools
from bentos.common.auth import CLIENT_SCOPE_KEY, KeysFile, shared_keys_file
from bentos.common.limits import DEFAULT_LIMIT
from bentos.common.traffic import Admission, Pod

# Answered in the event loop: up to ~150 abuse windows or ~500 spend users, a few ms of work. A hop to
# a thread cost 0.6 ms of CPU more per 100-window request (handing the interpreter over), as much as
# the model's part of it (abuse 100-window requests: 45,000 users/s inline, 37,000 on a thread).
SMALL_BODY = 128 * 1024
JSON = b"application/json"


def fast_methods(service, routes: frozenset[str]) -> dict[str, str]:
    """Route path -> API name, for the `routes` whose method can be answered here."""
    return {method.route: name for name, method in service.apis.items()
            if method.route in routes and method.ctx_param is None and not method.input_spec.multipart_fields
            and not inspect.iscoroutinefunction(method.func) and not inspect.isgeneratorfunction(method.func)
            and isinstance(method.output_spec, type) and issubclass(method.output_spec, IORootModel)}


class FastPath:
    """ASGI middleware; `routes`: the paths it may answer (the spec's interactive routes); `pod`: the
    slots and budgets InFlight keeps (bentos/common/traffic.py); `body_limits`: BodyLimit's, per endpoint."""

    def __init__(self, app, service, routes: frozenset[str], model: str, pod: Pod, body_limits: dict[str, int] | None = None,
                 keys: KeysFile | None = None):
        self.app, self.service, self.model, self.pod = app, service, model, pod
        self.keys = keys or shared_keys_file()
        self.methods = fast_methods(service, routes)
        self.largest = {path: (body_limits or {}).get(path.strip("/"), DEFAULT_LIMIT) for path in self.methods}
        self.server = f"BentoML Service/{service.name}".encode()
        self._calls: dict[str, object] = {}

    async def __call__(self, scope, receive, send):
        name = self.methods.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if name is None:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        length = json_length(headers, self.largest[scope["path"]])
        client = self.keys.caller(headers, self.model, scope["path"].strip("/")) if length is not None else None
        budget = self.pod.budgets["memory"]
        if client is None or not budget.fits(length):
            return await self.app(scope, receive, send)
        scope[CLIENT_SCOPE_KEY] = client.name
        admission = Admission(self.pod, budget, receive, send, length)
        try:
            body = await whole_body(admission)
            if body is None:  # refused by the admission (it answered), or the client is gone
                return
            answer = self.answer(name, body) if length <= SMALL_BODY else await pools.run("answer", self.answer, name, body)
            if answer is not None:
                return await self.send_answer(send, answer)
        finally:
            admission.release()
        # BentoML's path, behind every guard, from the body this layer took
        await self.app(scope, replay({"type": "http.request", "body": body, "more_body": False}, receive), send)

    async def send_answer(self, send, answer: bytes) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", JSON), (b"content-length", str(len(answer)).encode()), (b"server", self.server), *request_id()]})
        await send({"type": "http.response.body", "body": answer})

    def answer(self, name: str, body: bytes) -> bytes | None:
        """The method's answer as JSON, or None for BentoML to answer (the reason is its to tell)."""
        method = self.service.apis[name]
        try:
            data = method.input_spec.model_validate_json(body or b"{}")
            output = self.call(name)(**{field: getattr(data, field) for field in type(data).model_fields})
            return method.output_spec(output).model_dump_json().encode()
        except Exception:  # noqa: BLE001 - BentoML answers it again, with its own error shape and log line
            return None

    def call(self, name: str):
        if name not in self._calls:
            import bentoml

            self._calls[name] = getattr(bentoml.get_current_service(), name).local
        return self._calls[name]


def json_length(headers: dict[bytes, bytes], largest: int) -> int | None:
    """The declared length of a JSON body of at most `largest` bytes; None for any other request."""
    content_type, length = headers.get(b"content-type", JSON), headers.get(b"content-length", b"")
    if content_type.split(b";")[0].strip() == JSON and length.isdigit() and int(length) <= largest:
        return int(length)
    return None


async def whole_body(admission: Admission) -> bytes | None:
    """The body, once all of it has arrived and found a slot; None if the admission refused it or the
    client left."""
    chunks = []
    while True:
        message = await admission.receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)  # one chunk is returned as it is, not copied


def replay(first: dict, receive):
    """A receive that gives `first` again, then what is still to come."""
    pending = [first]

    async def again():
        return pending.pop() if pending else await receive()
    return again


def request_id() -> list[tuple[bytes, bytes]]:
    """BentoML's X-BentoML-Request-ID: the span id its tracing middleware gave this request."""
    return [] if trace_context.request_id is None else [(b"x-bentoml-request-id", format(trace_context.request_id, span_format()).encode())]


@functools.cache
def span_format() -> str:
    from bentoml._internal.configuration.containers import BentoMLContainer

    return BentoMLContainer.logging_formatting.get()["span_id"]
