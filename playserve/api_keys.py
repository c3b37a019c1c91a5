"""API keys on this machine and for the cluster's Secret (the format: bentos/common/auth.py).

Local servers read the keys file named by $PLAYSERVE_API_KEYS_FILE; without it, a local one made
once under PLAYSERVE_HOME for the client `local`, its key in a file of its own beside it."""

from __future__ import annotations

import os
from pathlib import Path

from bentos.common import auth
from playserve.paths import HOME

CLIENT_ENV = "PLAYSERVE_API_KEY"  # the key load tools and scripts send
LOCAL_CLIENT = "local"
SECRET = "playserve-api-keys"  # the Secret the Deployments mount; its one key holds the keys file
SECRET_KEY = "api-keys"


def write_private(path: Path, text: str) -> None:
    """Create or replace a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)


def add_client(keys_file: Path, client: str, allow: str = "*") -> str:
    """Append a client to a keys file (made if missing); returns its new key, which is stored nowhere."""
    key = auth.new_key()
    line = auth.keys_line(client, key, allow)
    existing = keys_file.read_text() if keys_file.is_file() else ""
    if client in {c.name for c in (auth.parse_keys(existing).values() if existing.strip() else [])}:
        raise ValueError(f"client: {client!r} is already in {keys_file}; remove its line to replace its key")
    write_private(keys_file, existing + line + "\n")
    return key


def local_keys(home: Path | None = None) -> tuple[Path, Path]:
    """(the keys file local servers read, the file holding the `local` client's key), made once."""
    keys_file, key_file = (home or HOME) / "api-keys", (home or HOME) / "api-key"
    if not (keys_file.is_file() and key_file.is_file()):
        keys_file.unlink(missing_ok=True)
        write_private(key_file, add_client(keys_file, LOCAL_CLIENT) + "\n")
    return keys_file, key_file


def serving_keys() -> tuple[Path, Path | None]:
    """The keys file a local server reads, and the local key file when it is the local default."""
    if os.environ.get(auth.ENV):
        return Path(os.environ[auth.ENV]), None
    return local_keys()


def client_key() -> str:
    """The key a local tool sends (benchmarks, locust): $PLAYSERVE_API_KEY, else the local client's."""
    if os.environ.get(CLIENT_ENV):
        return os.environ[CLIENT_ENV]
    keys_file, key_file = serving_keys()
    if key_file is None:
        raise ValueError(f"{CLIENT_ENV}: not set, and the servers read {keys_file}, which keeps no key itself")
    return key_file.read_text().strip()
