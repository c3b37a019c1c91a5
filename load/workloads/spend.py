"""The spend benchmark's workload: one player at login per request."""

from __future__ import annotations

import orjson

from load.bench import SEED, Workload


def workload(tag: str) -> tuple[str, Workload]:
    from training.spend import data
    from training.spend.scoring import load

    stored, model = load(tag)
    frame = data.generate(2_000, seed=SEED).frame.drop(columns=[data.TARGET, data.GROUP])
    records = orjson.loads(frame.to_json(orient="records"))
    rows = [frame.iloc[[i]] for i in range(len(frame))]
    return stored.tag, Workload("/predict", [orjson.dumps({"users": [r]}) for r in records],
                                lambda i, _: model.predict(rows[i % len(rows)]))
