"""Abuse scorer service: score users' feature windows (batched), ingest game events into the
online feature store (Redis), and score a user from the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import bentoml
import numpy as np
from pydantic import Field
from starlette.responses import JSONResponse

from bentos.abuse import schemas
from bentos.common import batching, limits, pools
from bentos.common.middleware import guard
from bentos.common.fields import MAX_ID_CHARS
from bentos.common.observability import ServiceMetrics, store_error
from training.common.drift import Rows, values_of
from training.common.integrity import verified
from training.abuse.spec import SPEC as CONTRACT
from training.abuse.serving.features import FEATURES, InputError
from training.abuse.serving.online import OnlineStore
from training.abuse.serving.scorer import FLAG_PERCENTILE, Scorer, Scores
from training.common import lazy

pd = lazy.lazy("pandas")
redis = lazy.lazy("redis")

# Resolve "latest" once, so every worker serves the same exact version.
STORED = verified(bentoml.models.get(os.environ.get("PLAYSERVE_ABUSE_MODEL", "abuse:latest")))
FEATURE_NAMES = STORED.info.metadata["columns"]["features"]
ID_COLUMN = STORED.info.metadata.get("id_column", "user_id")
REDIS_URL = os.environ.get("PLAYSERVE_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_PASSWORD_FILE = os.environ.get("PLAYSERVE_REDIS_PASSWORD_FILE")  # in the cluster: the abuse-redis-auth Secret
FLAG = float(os.environ.get("PLAYSERVE_ABUSE_FLAG_PERCENTILE", FLAG_PERCENTILE))  # flag at or above this percentile
Window = schemas.window_record(FEATURE_NAMES, ID_COLUMN)
WINDOW_VALUES = values_of([f"f{i}" for i in range(len(FEATURE_NAMES))])  # a Window's features, in order
Windows = Annotated[list[Window], Field(min_length=1, max_length=schemas.MAX_WINDOWS_PER_REQUEST)]
Events = Annotated[list[schemas.Event], Field(min_length=1, max_length=schemas.MAX_EVENTS_PER_REQUEST)]
Percentile = Annotated[float, Field(ge=0, le=100)]
FROM_EVENTS = FEATURE_NAMES == FEATURES  # only a model of the game's own features scores from the event store
MAX_LATENCY_MS = 2_000


def results(scorer: Scorer, scores: Scores, ids: list, flag: float, version: str) -> list[schemas.Scored]:
    """The answers, which the route's output model validates once (making 400 pydantic objects
    here took 1 ms per 100 windows, ten times scoring them)."""
    features, shares = scorer.top_features(scores.errors)
    return [{"user_id": user, "score": s, "percentile": p, "flagged": f,
             "top_features": [{"feature": name, "share": share} for name, share in zip(names, parts)],
             "reward_residual": r, "model_version": version}
            for user, s, p, f, names, parts, r in zip(ids, scores.score.tolist(), np.round(scores.percentile, 3).tolist(),
                                                       (scores.percentile >= flag).tolist(), features, np.round(shares, 4).tolist(),
                                                       scores.residual.tolist())]


def store_unavailable(error: redis.RedisError) -> JSONResponse:
    """503 with the reason (BentoML's own 5xx answers hide it), counted for the alert: the caller
    retries (a batch answered 503 wrote nothing); /score does not need the store."""
    reason = "full" if isinstance(error, redis.exceptions.OutOfMemoryError) else type(error).__name__
    store_error("abuse", reason)
    message = "feature store full: nothing was written" if reason == "full" else f"feature store unavailable ({reason}): nothing was written"
    return JSONResponse({"error": f"{message}; /score does not need it"}, status_code=503, headers={"Retry-After": "5"})


# Two workers, one per core of a replica: validating and answering windows is Python, which one
# process runs on one core at a time. 100-window requests, hey at 4 clients: 73,000 users/s against
# 40,000 with one worker, for ~200 MB more (the pod's slots and bytes in flight are split between them).
WORKERS = 2


@bentoml.service(name="abuse", workers=WORKERS, traffic=limits.traffic(timeout_s=CONTRACT.timeout_s))
class Abuse:
    model_ref = bentoml.models.BentoModel(STORED.tag)

    def __init__(self) -> None:
        lazy.load(pd, redis)
        # one ONNX Runtime thread: requests here are at most a few hundred windows, which one thread scores
        # faster than its pool does (39 against 50 us for one window, 99 against 107 us for 100), and the
        # pool's spinning threads took the cores the event loop and the other requests need
        self.scorer = Scorer(self.model_ref.path, threads=1)
        self.version = str(self.model_ref.tag)
        self.metrics = ServiceMetrics("abuse", self.version, STORED.info.labels.get("git_sha", "unknown"),
                                      reference=STORED.info.metadata.get("reference"))
        password = Path(REDIS_PASSWORD_FILE).read_text().strip() if REDIS_PASSWORD_FILE else None
        self.store = OnlineStore.from_url(REDIS_URL, password)
        store_error("abuse")

    def scored(self, features: pd.DataFrame | Rows, ids: list, flag: float, endpoint: str) -> list[schemas.Scored]:
        matrix = features.to_numpy(np.float32) if isinstance(features, pd.DataFrame) else np.asarray(features.values, np.float32)
        scores = self.scorer.score(matrix)
        self.metrics.observe(endpoint, {"score": scores.score, "reward_residual": scores.residual}, features)
        return results(self.scorer, scores, ids, flag, self.version)

    @bentoml.api(batchable=batching.enabled(), max_batch_size=schemas.MAX_WINDOWS_PER_REQUEST, max_latency_ms=MAX_LATENCY_MS)
    def score(self, windows: Windows) -> list[schemas.Scored]:
        """Score, percentile among the training windows, flag (PLAYSERVE_ABUSE_FLAG_PERCENTILE, default
        99), the features that contributed most and the reward residual, per window."""
        # rows, not a DataFrame: building one cost more than scoring a window
        rows = Rows(FEATURE_NAMES, [WINDOW_VALUES(w) for w in windows])
        return self.scored(rows, [w.get("id") for w in windows], FLAG, "score")

    # The two routes that call Redis run on their own threads (pools "store"): a hung store or a
    # 10,000-event batch must not hold the thread /score's batches run on.
    @bentoml.api
    async def events(self, events: Events) -> schemas.Ingested:
        """Add game events to each user's window in the online feature store."""
        return await pools.run("store", self.ingest, events)

    def ingest(self, events: list[schemas.Event]):
        frame = pd.DataFrame([e.model_dump() for e in events])
        try:
            ingested = self.store.ingest(frame)
        except InputError as error:
            raise bentoml.exceptions.InvalidArgument(str(error)) from None
        except redis.RedisError as error:
            return store_unavailable(error)
        return schemas.Ingested(**ingested._asdict(), model_version=self.version)

    @bentoml.api
    async def score_user(self, user_id: Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)], window: Optional[int] = None,
                         flag_percentile: Percentile = FLAG) -> schemas.Scored:
        """Score a user from the online store: their latest window, or `window` (days since the game's epoch)."""
        return await pools.run("store", self.stored_score, user_id, window, flag_percentile)

    def stored_score(self, user_id: str, window: int | None, flag_percentile: float):
        if not FROM_EVENTS:
            raise bentoml.exceptions.InvalidArgument("user_id: this model was trained on another table's features; "
                                                     "only a model of the game's features scores from the event store")
        try:
            frame = self.store.features(user_id, window)
        except InputError as error:
            raise bentoml.exceptions.NotFound(str(error)) from error
        except redis.RedisError as error:
            return store_unavailable(error)
        return self.scored(frame[FEATURE_NAMES], [user_id], flag_percentile, "score_user")[0]


# 10,000 windows of 34 features are ~7 MB of JSON, 10,000 events ~1 MB.
guard(Abuse, CONTRACT, {"score": 32 * limits.MIB, "events": 16 * limits.MIB})
