"""API keys: the keys file format, who may call what, rotation, and the local default."""

from __future__ import annotations

import os
import time

import pytest

from bentos.common import auth
from playserve import api_keys


def test_a_line_holds_only_the_digest_and_parses_back():
    key = auth.new_key()
    line = auth.keys_line("game-client", key, "wallhack,spend/predict")
    assert key not in line and auth.digest(key) in line
    [(digest, client)] = auth.parse_keys(f"# comment\n\n{line}  # trailing\n").items()
    assert digest == auth.digest(key) and client == auth.Client("game-client", frozenset({"wallhack", "spend/predict"}))


@pytest.mark.parametrize("text", ["game-client 9f86d0 *", "game-client sha256:" + "0" * 64, "bad name sha256:" + "0" * 64 + " *", "", "# only\n"])
def test_a_malformed_or_empty_keys_file_is_an_error_naming_the_line(text):
    with pytest.raises(auth.KeysFileError, match="line 1|no client keys"):
        auth.parse_keys(text)


def test_a_client_may_call_everything_a_model_or_one_endpoint():
    assert auth.Client("a", frozenset({"*"})).may_call("spend", "predict_table")
    wallhack = auth.Client("b", frozenset({"wallhack"}))
    assert wallhack.may_call("wallhack", "explain") and not wallhack.may_call("spend", "predict")
    one = auth.Client("c", frozenset({"spend/predict"}))
    assert one.may_call("spend", "predict") and not one.may_call("spend", "predict_table")
    assert auth.Client("d", frozenset({"emotion/report/html"})).may_call("emotion", "report/html")


@pytest.mark.parametrize(("headers", "key"), [
    ({b"authorization": b"Bearer abc"}, "abc"), ({b"authorization": b"bearer  abc "}, "abc"),
    ({b"x-api-key": b"abc"}, "abc"), ({b"authorization": b"Basic abc"}, None), ({b"authorization": b"Bearer "}, None), ({}, None)])
def test_the_key_comes_from_a_bearer_token_or_x_api_key(headers, key):
    assert auth.presented_key(headers) == key


def test_health_metrics_and_docs_are_open_and_everything_else_is_not():
    assert all(auth.is_open(p) for p in ("/livez", "/readyz", "/healthz", "/metrics", "/docs.json", "/", "/static_content/x.js"))
    assert not any(auth.is_open(p) for p in ("/predict", "/report/html", "/docs.json/x", "/metrics/x", "/nosuch"))


def test_a_rotated_keys_file_is_read_again_and_a_broken_one_keeps_the_last_good(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "RELOAD_CHECK_S", 0.0)
    old, new = auth.new_key(), auth.new_key()
    path = tmp_path / "api-keys"
    path.write_text(auth.keys_line("old", old) + "\n")
    keys = auth.KeysFile(path)
    assert keys.client(old).name == "old" and keys.client(new) is None
    path.write_text(auth.keys_line("new", new) + "\n")
    os.utime(path, (time.time() + 5, time.time() + 5))  # a modification time the filesystem tells apart
    assert keys.client(new).name == "new" and keys.client(old) is None
    path.write_text("half-written")
    os.utime(path, (time.time() + 10, time.time() + 10))
    assert keys.client(new).name == "new"


def test_the_service_side_refuses_to_run_without_a_keys_file(monkeypatch):
    monkeypatch.delenv(auth.ENV, raising=False)
    with pytest.raises(auth.KeysFileError, match=auth.ENV):
        auth.keys_file_from_env()


def test_the_local_default_is_made_once_private_and_matches(tmp_path):
    keys_file, key_file = api_keys.local_keys(tmp_path)
    key = key_file.read_text().strip()
    assert oct(keys_file.stat().st_mode & 0o777) == oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert auth.KeysFile(keys_file).client(key).name == api_keys.LOCAL_CLIENT
    assert api_keys.local_keys(tmp_path) == (keys_file, key_file) and key_file.read_text().strip() == key


def test_new_clients_are_added_beside_the_others_and_a_duplicate_is_refused(tmp_path):
    path = tmp_path / "api-keys"
    first = api_keys.add_client(path, "game-client", "wallhack")
    second = api_keys.add_client(path, "review-tool", "abuse/score_user")
    keys = auth.KeysFile(path)
    assert keys.client(first).name == "game-client" and keys.client(second).allow == {"abuse/score_user"}
    with pytest.raises(ValueError, match="already"):
        api_keys.add_client(path, "game-client")
    with pytest.raises(auth.KeysFileError):
        api_keys.add_client(path, "no spaces allowed")


def test_tools_send_the_environment_key_else_the_local_one(tmp_path, monkeypatch):
    monkeypatch.setenv(api_keys.CLIENT_ENV, "from-env")
    assert api_keys.client_key() == "from-env"
    monkeypatch.delenv(api_keys.CLIENT_ENV)
    monkeypatch.delenv(auth.ENV)
    monkeypatch.setattr(api_keys, "HOME", tmp_path)
    assert api_keys.client_key() == (tmp_path / "api-key").read_text().strip()
