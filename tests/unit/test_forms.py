"""Multipart forms -> an endpoint's input model, each file written once to the request's folder."""

import asyncio
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from bentos.common.forms import FormError, parse_form


class Upload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    images: Annotated[list[Path], Field(min_length=1)]
    threshold: float | None = None


def parse(files, data=None, folder: Path = None):
    """A real multipart body (as httpx encodes it), fed in 64 KiB chunks to parse_form."""
    encoded = httpx.Request("POST", "http://x/", files=files, data=data)
    body = encoded.read()
    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]

    async def receive():
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(k.lower().encode(), v.encode()) for k, v in encoded.headers.items()]}
    return asyncio.run(parse_form(Request(scope, receive), Upload, ("images",), str(folder)))


def test_each_file_is_written_once_to_the_request_folder_and_fields_are_values(tmp_path):
    big = bytes(range(256)) * 40_000  # 10 MB: past Starlette's 1 MB spool, so a spool would have rolled to disk
    parsed = parse([("images", ("a.png", big)), ("images", ("b" * 300 + ".png", b"small"))], {"threshold": "0.25"}, tmp_path)
    assert [p.read_bytes() for p in parsed.images] == [big, b"small"]
    assert all(p.parent == tmp_path for p in parsed.images) and len(list(tmp_path.iterdir())) == 2
    assert parsed.threshold == 0.25  # a 300-byte file name is no problem: the name is not used


@pytest.mark.parametrize("files, data, named", [
    ([("images", ("a.png", b"x"))], {"images": "http://169.254.169.254/"}, "images: expected an uploaded file, got text"),
    ([("image", ("a.png", b"x"))], None, "image: not a field of this endpoint (it takes images, threshold)"),
    ([("images", ("a.png", b"x")), ("threshold", ("t", b"0.5"))], None, "threshold: expected a value, got a file"),
    ([("images", ("a.png", b"x"))], {"threshold": ["0.1", "0.2"]}, "threshold: sent 2 times"),
])
def test_a_form_that_does_not_fit_the_endpoint_is_refused_naming_the_field(tmp_path, files, data, named):
    with pytest.raises(FormError, match=named.replace("(", r"\(").replace(")", r"\)")):
        parse(files, data, tmp_path)
