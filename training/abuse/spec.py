"""The abuse model's contract with the platform (which users' economy behaviour a review team should check first)."""

from training.common.contract import Metric, ModelSpec, Resources, Route, Scaling

SHIPPED = "autoencoder + reward residual"  # the shipped model's row in the training report

SPEC = ModelSpec(
    name="abuse",
    service="bentos.abuse.service:Abuse",
    port=3004,
    summary="which users' economy behaviour a review team should check first",
    routes=(Route("/score"), Route("/events"), Route("/score_user", errors=(404,))),
    latency_objective_s=0.5,  # game servers stream events to it and review tools wait on it
    input_kind="events",
    metrics=(Metric(("test", SHIPPED, "roc_auc"), "ROC-AUC", "higher"), Metric(("test", SHIPPED, "pr_auc"), "PR-AUC", "higher"),
             Metric(("test", SHIPPED, "precision_at_k"), "precision@k", "higher")),
    resources=Resources(cpu="500m", memory="768Mi", cpu_limit="2", memory_limit="1Gi"),  # two workers: ~600 MB at rest
    scaling={"staging": Scaling(1, 2),
             "prod": Scaling(3, 10, Resources(cpu="1", memory="1Gi", cpu_limit="2", memory_limit="2Gi"))},
    examples=(
        """curl -s -H "X-API-Key: $KEY" {url}/score -H 'content-type: application/json' -d '{"windows": [...]}'   (rows of `playserve data abuse --out users.csv`)""",
        """events: curl -s -H "X-API-Key: $KEY" {url}/events -H 'content-type: application/json' -d '{"events": [{"user_id": "u1", "time": 60, "kind": "reward", "gain": 25}]}'""",
        """from the event store: curl -s -H "X-API-Key: $KEY" {url}/score_user -H 'content-type: application/json' -d '{"user_id": "u1"}'""",
    ),
    components=("redis",),
)
