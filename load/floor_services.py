"""The one-record echo that load/floor.py serves three ways: the cost of serving itself, with no
model. A record is shaped like one of spend's users (an id, numbers, categories).

    .venv/bin/bentoml serve load.floor_services:EchoApi    # @bentoml.api
    .venv/bin/bentoml serve load.floor_services:EchoAsgi   # a Starlette app mounted on a BentoML service
    .venv/bin/uvicorn --http httptools load.floor_services:app   # plain uvicorn + Starlette + pydantic
"""

from __future__ import annotations

from typing import Optional

import bentoml
from pydantic import BaseModel, TypeAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Record(BaseModel):
    user_id: str
    age: Optional[float]
    play_time_hours: float
    login_count: float
    topup_amount: float
    level: float
    gender: Optional[str]
    platform: Optional[str]


class Body(BaseModel):
    records: list[Record]


RECORDS = TypeAdapter(list[Record])


async def echo(request: Request) -> Response:
    """What @bentoml.api does around a handler, and no more: validate the body, dump the answer."""
    body = Body.model_validate_json(await request.body())
    return Response(RECORDS.dump_json(body.records), media_type="application/json")


async def ready(request: Request) -> Response:
    return Response(b"ok")


app = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/readyz", ready)])


@bentoml.service(name="echo-api", workers=1)
class EchoApi:
    @bentoml.api
    def echo(self, records: list[Record]) -> list[Record]:
        return records


@bentoml.service(name="echo-asgi", workers=1)
@bentoml.asgi_app(app, path="/asgi")
class EchoAsgi:
    pass
