"""Multipart requests -> an endpoint's input model, with every uploaded file written once, as it
arrives, to the request's temporary folder (BentoML cleans it after the answer).

BentoML 1.4.39 parses a form with Starlette, which spools each file to an anonymous temporary file,
then reads each file whole into memory and writes it to a second file: a 700 MB video took 700 MB
of memory and twice its size of disk. Here the endpoint receives the path of the one copy."""

from __future__ import annotations

import json
import tempfile
import typing
from pathlib import Path

from starlette.formparsers import MultiPartParser
from starlette.datastructures import UploadFile

MAX_PARTS = 200  # files and fields in one form: more than any endpoint takes (64 images and a threshold)


class FormError(ValueError):
    """The form does not fit the endpoint; the message names the field."""


class DiskMultiPartParser(MultiPartParser):
    """Starlette's parser, writing each file part to a named file in `folder` instead of a spool."""

    def __init__(self, headers, stream, folder: str):
        super().__init__(headers, stream, max_files=MAX_PARTS, max_fields=MAX_PARTS)
        self.folder = folder

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        upload = self._current_part.file
        if upload is not None:
            spool = upload.file
            self._files_to_close_on_error.remove(spool)
            spool.close()
            upload.file = tempfile.NamedTemporaryFile(dir=self.folder, prefix="upload-", delete=False)
            self._files_to_close_on_error.append(upload.file)


async def parse_form(request, model, file_fields: tuple[str, ...], folder: str):
    """The request's form as `model`: file fields get the path of their file, other fields their
    value as JSON where it parses (numbers, booleans), else as text."""
    form = await DiskMultiPartParser(request.headers, request.stream(), folder).parse()
    try:
        data: dict[str, typing.Any] = {}
        for name in form:
            values = form.getlist(name)
            for value in values:
                if isinstance(value, UploadFile):
                    value.file.close()  # written and flushed; the endpoint opens it by path
            if name in file_fields:
                if any(isinstance(v, str) for v in values):
                    raise FormError(f"{name}: expected an uploaded file, got text")
                paths = [Path(v.file.name) for v in values]
                data[name] = paths if takes_many(model, name) else paths[0]
            elif len(values) > 1:
                raise FormError(f"{name}: sent {len(values)} times; send it once")
            elif isinstance(values[0], UploadFile):
                raise FormError(f"{name}: expected a value, got a file" if name in model.model_fields
                                else f"{name}: not a field of this endpoint (it takes {', '.join(model.model_fields)})")
            else:
                data[name] = as_value(values[0])
    except FormError:
        await form.close()
        raise
    return model.model_validate(data)


def takes_many(model, name: str) -> bool:
    annotation = model.model_fields[name].annotation
    return any(typing.get_origin(a) is list for a in (annotation, *typing.get_args(annotation)))


def as_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
