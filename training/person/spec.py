"""The person model's contract with the platform (people in front of an ad per camera frame and how many face it)."""

from training.common.contract import Metric, ModelSpec, Resources, Route, Scaling

SPEC = ModelSpec(
    name="person",
    service="bentos.person.service:Person",
    port=3003,
    summary="people in front of an ad per camera frame, and how many face it",
    routes=(Route("/predict"), Route("/video", interactive=False)),
    latency_objective_s=2.0,  # cameras send a frame every few seconds; a 640-pixel frame is ~0.25 s on 2 cores
    input_kind="images",
    metrics=(Metric(("real_photos", "summary", "yolo", "exact_count"), "photos counted exactly", "higher"),
             Metric(("fine_tuning", "test", "fine-tuned", "map50_95"), "mAP50-95", "higher")),
    resources=Resources(cpu="1", memory="1Gi", cpu_limit="2", memory_limit="2Gi"),
    # prod: one replica sustains the stated daily volume (load/results/bench-person.md), two for availability; requests = limits: Guaranteed QoS
    scaling={"staging": Scaling(1, 2), "prod": Scaling(2, 8, Resources(cpu="2", memory="1536Mi", cpu_limit="2", memory_limit="1536Mi"))},
    # prod's 1536Mi: the worst accepted requests (16 frames of 2.5 Mpx, 8 at once) peak at ~960 MB for
    # the API and model workers together (tests/service/test_capacity.py); 1Gi left too little room
    scratch="4Gi",  # an uploaded recording (up to 2 GiB) lives here for its request only
    timeout_s=900,  # a recording's report; a draining pod waits for it
    examples=(
        """curl -s -H "X-API-Key: $KEY" {url}/predict -F images=@camera.jpg   (people, how many face the screen)""",
        """a recording's audience: curl -s -H "X-API-Key: $KEY" {url}/video -F video=@recording.mp4""",
    ),
)
