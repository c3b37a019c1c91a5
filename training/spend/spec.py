"""The spend model's contract with the platform (expected 30-day top-up per user as if un-nudged; the effect of a payment nudge)."""

from training.common.contract import Metric, ModelSpec, Resources, Route, Scaling

SPEC = ModelSpec(
    name="spend",
    service="bentos.spend.service:Spend",
    port=3000,
    summary="expected 30-day spend per user as if un-nudged, and the effect of a payment nudge",
    routes=(Route("/predict"), Route("/predict_table", interactive=False), Route("/nudge_effect", interactive=False)),
    latency_objective_s=0.5,  # on a player's path: the game asks at login
    input_kind="table",
    metrics=(Metric(("metrics", "rmse"), "RMSE", "lower"), Metric(("metrics", "mae"), "MAE", "lower"),
             Metric(("metrics", "total_ratio"), "total ratio", "closer to 1"),
             Metric(("metrics", "payer_roc_auc"), "payer AUC", "higher"),
             Metric(("margins", "baselines", "knn", "low"), "RMSE gain on KNN, 95% low", "higher")),
    resources=Resources(cpu="500m", memory="768Mi", cpu_limit="2", memory_limit="1Gi"),  # two workers: ~430 MB at rest
    scaling={"staging": Scaling(1, 2),
             "prod": Scaling(3, 10, Resources(cpu="1", memory="1Gi", cpu_limit="2", memory_limit="2Gi"))},
    examples=(
        """curl -s -H "X-API-Key: $KEY" {url}/predict -H 'content-type: application/json' -d @bentos/spend/example_request.json""",
        """bulk: curl -s -H "X-API-Key: $KEY" {url}/predict_table -F table=@users.parquet   (make one: playserve data spend --out users.parquet)""",
    ),
)
