"""The spend benchmark's workload: one player at login per request."""

from __future__ import annotations

import orjson

from load.bench import SEED, Workload


def workload(tag: str) -> tuple[str, Workload]:
    """One generated user; bare: the request's user encoded and predicted as the service does it."""
    from pydantic import TypeAdapter

    from bentos.spend.frames import Encoder
    from bentos.spend.schemas import user_record
    from training.spend import data
    from training.spend.scoring import load

    stored, model = load(tag)
    frame = data.generate(1, seed=SEED).frame.drop(columns=[data.TARGET, data.GROUP])
    record = orjson.loads(frame.to_json(orient="records"))[0]
    encoder = Encoder(model.spec)
    user = TypeAdapter(user_record(model.spec, stored.metadata.get("id_column", "user_id"))).validate_python(record)
    return stored.tag, Workload("/predict", orjson.dumps({"users": [record]}),
                                lambda n: model.predict_frame(encoder.matrix(encoder.rows([user] * n))))
