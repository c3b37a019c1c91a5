"""API keys: every route but health, metrics and the API docs needs the key of a known client.

The keys file (in the cluster: the `playserve-api-keys` Secret, mounted read-only) holds one
line per calling client and never a key itself, only its SHA-256:

    # client        key digest          may call
    game-client     sha256:9f86d0...    wallhack,spend/predict
    review-tool     sha256:60303a...    *

"may call" is `*`, a model (all its endpoints) or model/endpoint, comma-separated. A request
sends `Authorization: Bearer <key>` or `X-API-Key: <key>`; no key or an unknown one is a 401,
a known client outside its list a 403, both with a JSON body. The file is read again when it
changes (a rotated Secret reaches the pod without a restart). Keys are random 256-bit tokens, so
a plain SHA-256 is enough to store them: there is nothing to guess."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from bentos.common.limits import respond
from bentos.common.observability import auth_refused

ENV = "PLAYSERVE_API_KEYS_FILE"
OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics", "/docs.json", "/"})
OPEN_PREFIXES = ("/static_content/",)  # the Swagger UI's own files
RELOAD_CHECK_S = 1.0
CLIENT_SCOPE_KEY = "playserve.client"  # where a request's client name travels to the endpoint
_LINE = re.compile(r"(?P<client>[A-Za-z0-9][\w.-]*)\s+sha256:(?P<digest>[0-9a-f]{64})\s+(?P<allow>\S+)")


class KeysFileError(ValueError):
    pass


@dataclass(frozen=True)
class Client:
    name: str
    allow: frozenset[str]

    def may_call(self, model: str, endpoint: str) -> bool:
        return not self.allow.isdisjoint({"*", model, f"{model}/{endpoint}"})


def new_key() -> str:
    return secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def keys_line(client: str, key: str, allow: str = "*") -> str:
    line = f"{client} sha256:{digest(key)} {allow}"
    parse_keys(line)  # refuse to write what the services would refuse to read
    return line


def parse_keys(text: str) -> dict[str, Client]:
    """Key digest -> client; a malformed line is an error naming its number (a typo must not lock
    every client out silently, nor let anyone in)."""
    clients: dict[str, Client] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LINE.fullmatch(line)
        if not match:
            raise KeysFileError(f"line {number}: expected '<client> sha256:<64 hex digits> <model>[/<endpoint>],...' or '*'")
        clients[match["digest"]] = Client(match["client"], frozenset(match["allow"].split(",")))
    if not clients:
        raise KeysFileError("no client keys: every request would be refused")
    return clients


def presented_key(headers: dict[bytes, bytes]) -> str | None:
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get(b"x-api-key", b"").decode("latin-1").strip() or None


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


class KeysFile:
    """The clients of a keys file, read again when its modification time changes."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._stamp, self._checked = self._mtime(), time.monotonic()
        self.clients = parse_keys(self.path.read_text())

    def _mtime(self) -> float:
        return self.path.stat().st_mtime

    def client(self, key: str) -> Client | None:
        now = time.monotonic()
        if now - self._checked >= RELOAD_CHECK_S:
            self._checked = now
            self._reload()
        return self.clients.get(digest(key))

    def caller(self, headers: dict[bytes, bytes], model: str, endpoint: str) -> Client | None:
        """The client whose key the headers carry, if it may call `model`/`endpoint`; else None
        (ApiKeys says why)."""
        key = presented_key(headers)
        client = self.client(key) if key else None
        return client if client is not None and client.may_call(model, endpoint) else None

    def _reload(self) -> None:
        """A changed file replaces the clients; one that cannot be read or parsed keeps the last
        good set (a half-written Secret update must not open or close the service)."""
        try:
            stamp = self._mtime()
            if stamp != self._stamp:
                self.clients, self._stamp = parse_keys(self.path.read_text()), stamp
        except (OSError, KeysFileError):
            pass


def keys_file_from_env() -> KeysFile:
    path = os.environ.get(ENV)
    if not path:
        raise KeysFileError(f"{ENV} is not set: a service never starts without API keys")
    return KeysFile(path)


@functools.cache
def shared_keys_file() -> KeysFile:
    """The process's keys file, read when the first middleware needing it is built (in the worker,
    where the service's environment is set), then shared by ApiKeys and the fast path."""
    return keys_file_from_env()


def client_of(request) -> str:
    """The name of the client whose key the request carried (set by ApiKeys)."""
    return request.scope[CLIENT_SCOPE_KEY]


class ApiKeys:
    """ASGI middleware: refuse inference calls without a valid key for this model and endpoint."""

    def __init__(self, app, model: str, keys: KeysFile | None = None):
        self.app = app
        self.model = model
        self.keys = keys or shared_keys_file()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or is_open(scope["path"]):
            return await self.app(scope, receive, send)
        endpoint = scope["path"].strip("/")
        key = presented_key(dict(scope["headers"]))
        client = self.keys.client(key) if key else None
        if client is None:
            reason = "unknown API key" if key else "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            return await self.refuse(send, 401, reason, "unknown" if key else "missing")
        if not client.may_call(self.model, endpoint):
            return await self.refuse(send, 403, f"client {client.name!r} may not call {self.model}/{endpoint}", "forbidden")
        scope[CLIENT_SCOPE_KEY] = client.name
        return await self.app(scope, receive, send)

    async def refuse(self, send, status: int, error: str, reason: str) -> None:
        auth_refused(self.model, reason)
        challenge = ((b"www-authenticate", b'Bearer realm="playserve"'),) if status == 401 else ()
        await respond(send, status, {"error": error}, challenge)
