"""The emotion model's contract with the platform (faces and seven emotions per webcam frame; an emotion report per playtest video)."""

from training.common.contract import Metric, ModelSpec, Resources, Route, Scaling

SPEC = ModelSpec(
    name="emotion",
    service="bentos.emotion.service:Emotion",
    port=3002,
    summary="faces and seven emotions per webcam frame, and an emotion report per playtest video",
    routes=(Route("/predict"), Route("/stream", errors=(404, 409)), Route("/stream/close", errors=(404,)), Route("/report", interactive=False), Route("/report/html", interactive=False, media_type="text/html")),
    latency_objective_s=1.0,  # live frames arrive at 2 a second; /predict takes up to 16 images
    input_kind="images",
    metrics=(Metric(("detection", "lfw_face_recall"), "face recall", "higher"),
             Metric(("detection", "photos_exact_count"), "photos counted exactly", "higher"),
             Metric(("fine_tuning", "metrics", "macro_f1"), "macro-F1", "higher")),
    resources=Resources(cpu="1", memory="512Mi", cpu_limit="2", memory_limit="1Gi"),
    # prod: one replica sustains the stated daily volume (load/results/bench-emotion.md), two for availability; requests = limits: Guaranteed QoS
    scaling={"staging": Scaling(1, 2), "prod": Scaling(2, 8, Resources(cpu="2", memory="1Gi", cpu_limit="2", memory_limit="1Gi"))},
    scratch="4Gi",  # an uploaded session video (up to 2 GiB) lives here for its request only
    timeout_s=900,  # a session video's report (a 2-minute video: ~70 s on 2 cores); a draining pod waits for it
    sticky_sessions_s=600,  # /stream keeps a live session's face tracks in the pod: as long as bentos/emotion/sessions.py remembers an idle one
    examples=(
        """curl -s -H "X-API-Key: $KEY" {url}/predict -F images=@face.jpg""",
        """live, frame by frame: curl -s -H "X-API-Key: $KEY" {url}/stream -F session_id=test-1 -F frame=0 -F image=@frame.jpg""",
        """a session report: curl -s -H "X-API-Key: $KEY" {url}/report -F video=@session.mp4""",
        """as a page: curl -s -H "X-API-Key: $KEY" {url}/report/html -F video=@session.mp4 -o report.html""",
    ),
)
