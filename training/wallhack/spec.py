"""The wallhack model's contract with the platform (does a screenshot show a wallhack / ESP overlay)."""

from training.common.contract import Metric, ModelSpec, Resources, Route, Scaling

GUARANTEED = Resources(cpu="2", memory="2Gi", cpu_limit="2", memory_limit="2Gi")  # requests = limits: CPU-bound inference gets Guaranteed QoS

SPEC = ModelSpec(
    name="wallhack",
    service="bentos.wallhack.service:Wallhack",
    port=3001,
    summary="does a screenshot show a wallhack (ESP) overlay",
    routes=(Route("/predict"), Route("/explain", interactive=False)),
    latency_objective_s=2.0,  # anti-cheat calls it asynchronously with up to 64 screenshots a request
    input_kind="images",
    metrics=(Metric(("metrics", "roc_auc"), "ROC-AUC", "higher"), Metric(("metrics", "pr_auc"), "PR-AUC", "higher"),
             Metric(("metrics", "held_out_style_recall"), "held-out style recall", "higher")),
    resources=Resources(cpu="1", memory="1Gi", cpu_limit="2", memory_limit="2Gi"),
    scaling={"staging": Scaling(1, 2), "prod": Scaling(2, 8, GUARANTEED)},  # prod: one replica sustains the stated daily volume (load/results/bench-wallhack.md); two for availability
    scratch="2Gi",  # a full request: 64 uploads of up to 20 MB
    examples=(
        """curl -s -H "X-API-Key: $KEY" {url}/predict -F images=@shot.jpg -F images=@shot2.png   (make some: playserve data wallhack --n 4 --out shots)""",
        """with a heat map for reviewers: curl -s -H "X-API-Key: $KEY" {url}/explain -F image=@shot.jpg""",
    ),
)
