"""Manifests proven without a cluster: rendered, schema-validated, and shaped as GitOps needs."""

import copy
import fnmatch
import json
from pathlib import Path

import pytest
import yaml

from playserve.manifests import REPO_ROOT, render, targets, validate, validate_object
from playserve import catalog, model_manifests
from training.common.contract import PRE_STOP_S
from tests.conftest import run_cli

OVERLAYS = REPO_ROOT / "manifests" / "overlays"


def rendered(env: str, model: str = "spend") -> dict[str, dict]:
    """The model's own objects in an overlay, by kind (abuse's overlay also holds its Redis)."""
    return {obj["kind"]: obj for obj in render(OVERLAYS / env / model) if obj["metadata"]["name"] == model}


def test_every_overlay_and_argocd_render_and_validate():
    report = validate()
    assert report.errors == []
    redis = {"abuse": 3}  # abuse's feature store: StatefulSet, Service, NetworkPolicy
    overlays = {f"manifests/overlays/{env}/{model}": 6 + redis.get(model, 0) for env in ("prod", "staging") for model in catalog.names()}
    monitoring = 5 + 1 + len(catalog.names())  # five PrometheusRules, the overview dashboard and one per model
    namespaces = 2 * 2  # per environment: the Namespace and its default-deny NetworkPolicy
    assert report.rendered == {**overlays, "manifests/namespaces": namespaces, "argocd": 7, "ci/argo": 2 * len(catalog.names()),
                               "monitoring": monitoring}
    assert report.validated == report.objects == sum(overlays.values()) + namespaces + 7 + 2 * len(catalog.names()) + monitoring


def test_validate_command_prints_counts():
    summary = json.loads(run_cli("validate").stdout)
    assert summary["errors"] == 0 and summary["objects_validated"] == summary["objects_rendered"] == validate().objects


def _spend_objects():
    return rendered("staging")


@pytest.mark.parametrize(
    "kind, break_it, expected",
    [
        ("Deployment", lambda o: o["spec"]["template"]["spec"]["containers"][0].update(imagePullPolicy=3), "not of type"),
        ("Deployment", lambda o: o["spec"]["template"]["spec"]["containers"][0].update(livenesProbe={}), "livenesProbe"),
        ("ServiceMonitor", lambda o: o["spec"].update(endpoints="http"), "not of type 'array'"),
        ("HorizontalPodAutoscaler", lambda o: o["spec"].update(minReplicas="two"), "not of type"),
    ],
)
def test_validation_catches_broken_objects(kind, break_it, expected):
    obj = copy.deepcopy(_spend_objects()[kind])
    assert validate_object(obj) is None
    break_it(obj)
    assert expected in validate_object(obj)


def test_unknown_custom_resource_is_an_error():
    assert "no schema" in validate_object({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


def restricted_violations(pod: dict) -> list[str]:
    """What the restricted Pod Security Standard forbids in a pod spec (the rules these manifests could break)."""
    problems = []
    pod_context = pod.get("securityContext", {})
    if pod.get("automountServiceAccountToken") is not False:
        problems.append("service-account token mounted")
    if any(volume.get("hostPath") for volume in pod.get("volumes", [])):
        problems.append("hostPath volume")
    for container in pod["containers"]:
        context = {**pod_context, **container.get("securityContext", {})}
        if context.get("runAsNonRoot") is not True or context.get("runAsUser", 1) == 0:
            problems.append(f"{container['name']}: may run as root")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{container['name']}: privilege escalation")
        if context.get("capabilities", {}).get("drop") != ["ALL"] or context.get("capabilities", {}).get("add"):
            problems.append(f"{container['name']}: capabilities")
        if context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{container['name']}: seccomp")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{container['name']}: writable root file system")
        if not container.get("resources", {}).get("limits") or not container["resources"].get("requests"):
            problems.append(f"{container['name']}: no requests and limits")
    return problems


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_every_workload_meets_the_restricted_pod_security_standard_in_a_namespace_that_enforces_it(env):
    namespaces = {o["metadata"]["name"]: o for o in render(REPO_ROOT / "manifests/namespaces") if o["kind"] == "Namespace"}
    labels = namespaces[f"playserve-{env}"]["metadata"]["labels"]
    assert all(labels[f"pod-security.kubernetes.io/{mode}"] == "restricted" for mode in ("enforce", "audit", "warn"))
    workloads = [o for model in catalog.names() for o in render(OVERLAYS / env / model) if o["kind"] in ("Deployment", "StatefulSet")]
    assert len(workloads) == len(catalog.names()) + 1  # and abuse's Redis
    for workload in workloads:
        assert workload["metadata"]["namespace"] == f"playserve-{env}"
        assert restricted_violations(workload["spec"]["template"]["spec"]) == [], workload["metadata"]["name"]
        pdbs = [o for o in render(OVERLAYS / env / workload["metadata"]["name"]) if o["kind"] == "PodDisruptionBudget"] \
            if workload["kind"] == "Deployment" else [None]
        assert len(pdbs) == 1


def test_the_restricted_check_catches_what_it_looks_for():
    pod = copy.deepcopy(rendered("staging")["Deployment"]["spec"]["template"]["spec"])
    assert restricted_violations(pod) == []
    pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    pod["securityContext"].pop("seccompProfile")
    pod["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    assert restricted_violations(pod) == ["hostPath volume", "spend: privilege escalation", "spend: seccomp"]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_a_default_deny_policy_covers_the_namespace_and_each_service_allows_only_its_callers(env):
    [deny] = [o for o in render(REPO_ROOT / "manifests/namespaces") if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == f"playserve-{env}"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for model in catalog.names():
        policy = rendered(env, model)["NetworkPolicy"]["spec"]
        callers = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for rule in policy["ingress"] for peer in rule["from"]
                   if "namespaceSelector" in peer}
        assert callers == {"ingress-nginx", "monitoring"} and policy["policyTypes"] == ["Ingress", "Egress"], model


@pytest.mark.parametrize("model", catalog.names())
def test_deployment_is_probed_limited_and_locked_down(model):
    deployment = rendered("staging", model)["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {"livenessProbe", "readinessProbe", "startupProbe"} <= set(container)
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez" and container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    assert "replicas" not in deployment["spec"]  # the HPA owns replicas
    writable = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in writable


@pytest.mark.parametrize("model", catalog.names())
def test_overlays_hold_only_the_delta(model):
    """Same objects in both environments; they differ only where an overlay says so."""
    staging, prod = rendered("staging", model), rendered("prod", model)
    assert staging.keys() == prod.keys()
    for kind in staging:
        s, p = copy.deepcopy(staging[kind]), copy.deepcopy(prod[kind])
        for obj in (s, p):
            obj["metadata"].pop("namespace", None)
            if kind == "Deployment":
                container = obj["spec"]["template"]["spec"]["containers"][0]
                container.pop("image"), container.pop("resources")
            if kind == "HorizontalPodAutoscaler":
                obj["spec"].pop("minReplicas"), obj["spec"].pop("maxReplicas")
        assert s == p, kind
    assert prod["HorizontalPodAutoscaler"]["spec"]["minReplicas"] > staging["HorizontalPodAutoscaler"]["spec"]["minReplicas"]
    for env in ("staging", "prod"):
        kustomization = yaml.safe_load((OVERLAYS / env / model / "kustomization.yaml").read_text())
        assert [i["name"] for i in kustomization["images"]] == [f"playserve/{model}"]  # the one place a tag lives
        image = kustomization["images"][0]
        assert "newTag" in image and (image["newTag"] == "unreleased" or image["digest"].startswith("sha256:"))  # deploys pin digests
    base = next(o for o in render(REPO_ROOT / f"manifests/base/{model}") if o["kind"] == "Deployment")
    assert base["spec"]["template"]["spec"]["containers"][0]["image"] == f"playserve/{model}"  # no tag in base


def selects(selector: dict, labels: dict) -> bool:
    """A Kubernetes label selector (matchLabels and In expressions) applied to a pod's labels."""
    expressions = selector.get("matchExpressions", [])
    assert all(e["operator"] == "In" for e in expressions)
    return (all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
            and all(labels.get(e["key"]) in e["values"] for e in expressions))


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_abuse_and_its_redis_reach_only_each_other(env):
    objects = {(o["kind"], o["metadata"]["name"]): o for o in render(OVERLAYS / env / "abuse")}
    abuse_pod = objects["Deployment", "abuse"]["spec"]["template"]
    redis_set = objects["StatefulSet", "abuse-redis"]
    redis_pod, service = redis_set["spec"]["template"], objects["Service", "abuse-redis"]
    env_vars = {e["name"]: e["value"] for e in abuse_pod["spec"]["containers"][0]["env"]}
    assert env_vars["PLAYSERVE_REDIS_URL"] == f"redis://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/0"
    assert selects({"matchLabels": service["spec"]["selector"]}, redis_pod["metadata"]["labels"])
    assert not selects({"matchLabels": service["spec"]["selector"]}, abuse_pod["metadata"]["labels"])
    assert redis_set["spec"]["serviceName"] == service["metadata"]["name"] and redis_set["spec"]["replicas"] == 1
    to_redis = [rule for rule in objects["NetworkPolicy", "abuse"]["spec"]["egress"]
                if any(selects(peer.get("podSelector", {"matchLabels": {"none": "x"}}), redis_pod["metadata"]["labels"]) for peer in rule["to"])]
    assert [rule["ports"] for rule in to_redis] == [[{"port": 6379, "protocol": "TCP"}]]
    redis_policy = objects["NetworkPolicy", "abuse-redis"]["spec"]
    assert selects(redis_policy["podSelector"], redis_pod["metadata"]["labels"]) and "egress" not in redis_policy  # no egress at all
    [ingress] = redis_policy["ingress"]
    assert [selects(peer["podSelector"], abuse_pod["metadata"]["labels"]) for peer in ingress["from"]] == [True]
    assert not selects(ingress["from"][0]["podSelector"], {**abuse_pod["metadata"]["labels"], "app.kubernetes.io/name": "spend"})
    container = redis_pod["spec"]["containers"][0]
    assert redis_pod["spec"]["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"] and container["resources"]["limits"]
    assert container["image"].rsplit(":", 1)[1][0].isdigit()  # a pinned version, not latest
    # one password, from a Secret both mount (never committed), read from a file by both sides
    for pod, path in ((abuse_pod, env_vars["PLAYSERVE_REDIS_PASSWORD_FILE"]), (redis_pod, "/etc/abuse-redis/password")):
        [volume] = [v for v in pod["spec"]["volumes"] if v.get("secret", {}).get("secretName") == "abuse-redis-auth"]
        [mount] = [m for m in pod["spec"]["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
        assert path.startswith(mount["mountPath"] + "/") and mount["readOnly"] is True
    assert "requirepass" in container["args"][0] and "/etc/abuse-redis/password" in container["args"][0]


def test_one_resource_per_file_named_component_kind():
    for path in (REPO_ROOT / "manifests").rglob("*.yaml"):
        if path.name == "kustomization.yaml":
            continue
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(docs) == 1, path
        assert path.name == f"{docs[0]['metadata']['name']}-{docs[0]['kind'].lower()}.yaml", path


def argocd_objects() -> dict[tuple[str, str], dict]:
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in render(REPO_ROOT / "argocd")}


def assert_project_allows(project: dict, obj: dict) -> None:
    allowed = {(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceWhitelist"]}
    assert (obj["apiVersion"].rpartition("/")[0], obj["kind"]) in allowed, obj["kind"]
    assert any(fnmatch.fnmatch(obj["metadata"]["namespace"], d["namespace"]) for d in project["spec"]["destinations"])


def test_applicationset_covers_every_overlay_and_the_project_allows_it():
    argocd = argocd_objects()
    appset, project = argocd["ApplicationSet", "playserve"], argocd["AppProject", "playserve"]
    pattern = appset["spec"]["generators"][0]["git"]["directories"][0]["path"]
    overlay_dirs = [str(t.relative_to(REPO_ROOT)) for t in targets() if "overlays" in t.parts]
    assert overlay_dirs and all(fnmatch.fnmatch(d, pattern) for d in overlay_dirs)
    template = appset["spec"]["template"]["spec"]
    assert template["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert template["source"]["repoURL"] in project["spec"]["sourceRepos"]
    assert appset["spec"]["generators"][0]["git"]["repoURL"] == template["source"]["repoURL"]
    for target in overlay_dirs:
        env = Path(target).parts[2]
        for obj in render(REPO_ROOT / target):
            assert_project_allows(project, obj)
            assert obj["metadata"]["namespace"] == f"playserve-{env}"
    assert {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]} in template["ignoreDifferences"]
    assert template["project"] == "playserve" and not project["spec"]["clusterResourceWhitelist"]  # cannot relabel a Namespace


def test_the_namespaces_application_owns_the_namespaces_the_overlays_deploy_into():
    argocd = argocd_objects()
    app, appset = argocd["Application", "playserve-namespaces"], argocd["ApplicationSet", "playserve"]
    project = argocd["AppProject", app["spec"]["project"]]
    assert app["spec"]["source"]["path"] == "manifests/namespaces" and app["spec"]["source"]["repoURL"] in project["spec"]["sourceRepos"]
    objects = render(REPO_ROOT / app["spec"]["source"]["path"])
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    assert names == {f"playserve-{env}" for env in ("staging", "prod")}
    assert project["spec"]["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}] and app["spec"]["project"] != "playserve"
    for obj in objects:
        if obj["kind"] == "Namespace":  # never pruned: deleting one deletes every workload in it
            assert "Prune=false" in obj["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
        else:
            assert_project_allows(project, obj)
    assert "CreateNamespace=true" not in appset["spec"]["template"]["spec"]["syncPolicy"]["syncOptions"]  # never unlabelled


def test_monitoring_application_syncs_rules_and_dashboards_its_project_allows():
    argocd = argocd_objects()
    app = argocd["Application", "playserve-monitoring"]
    project = argocd["AppProject", app["spec"]["project"]]
    assert app["spec"]["source"]["path"] == "monitoring" and app["spec"]["destination"]["namespace"] == "monitoring"
    assert app["spec"]["source"]["repoURL"] in project["spec"]["sourceRepos"]
    objects = render(REPO_ROOT / "monitoring")
    assert {obj["kind"] for obj in objects} == {"PrometheusRule", "ConfigMap"}
    for obj in objects:
        assert_project_allows(project, obj)


@pytest.mark.parametrize("model", catalog.names())
def test_pipeline_runs_the_stages_in_order(model):
    from playserve.pipelines import workflow_template

    spec = yaml.safe_load(workflow_template(model).to_yaml())["spec"]
    dag = next(t for t in spec["templates"] if t["name"] == "pipeline")["dag"]["tasks"]
    order = {task["name"]: task.get("depends") for task in dag}
    assert order == {"checkout": None, "train-gate-register": "checkout", "build": "train-gate-register",
                     "push": "build", "bump-staging": "push"}
    scripts = {t["name"]: t["container"]["args"][0] for t in spec["templates"] if "container" in t}
    assert f"playserve train {model}" in scripts["train-gate-register"] and f"open-bump.sh {model} staging" in scripts["bump-staging"]


@pytest.mark.parametrize("model", catalog.names())
def test_each_model_renders_its_spec_s_values_from_the_one_shape(model):
    """base/<model> is base/model-service renamed, with the spec's size, scratch, drain time and replicas."""
    spec = catalog.spec(model)
    for env in ("staging", "prod"):
        objects = {o["kind"]: o for o in render(OVERLAYS / env / model) if o["metadata"]["name"] == model}
        assert set(objects) == {"Deployment", "Service", "ServiceMonitor", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"}
        pod = objects["Deployment"]["spec"]["template"]["spec"]
        size = spec.scaling[env].resources or spec.resources
        container = pod["containers"][0]
        assert container["resources"] == {"requests": {"cpu": size.cpu, "memory": size.memory, "ephemeral-storage": spec.scratch},
                                          "limits": {"cpu": size.cpu_limit, "memory": size.memory_limit,
                                                     "ephemeral-storage": model_manifests.ephemeral_limit(spec.scratch)}}
        assert pod["volumes"][0]["emptyDir"]["sizeLimit"] == spec.scratch
        # a drain waits for the longest request: preStop, then the service's own timeout
        assert container["lifecycle"]["preStop"]["sleep"]["seconds"] == PRE_STOP_S
        assert pod["terminationGracePeriodSeconds"] == spec.drain_s >= PRE_STOP_S + spec.timeout_s
        assert all(container[probe]["timeoutSeconds"] >= 2 for probe in ("readinessProbe", "livenessProbe"))
        hpa = objects["HorizontalPodAutoscaler"]["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"], hpa["scaleTargetRef"]["name"]) == (spec.scaling[env].min_replicas, spec.scaling[env].max_replicas, model)
        assert objects["ServiceMonitor"]["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": model}
        assert (objects["Service"]["spec"].get("sessionAffinity") == "ClientIP") == bool(spec.sticky_sessions_s)


def test_the_readme_ingress_publishes_only_the_spec_routes_with_limits():
    """The README's example Ingress: exact paths, exactly the model's routes (no `/`, so never
    /metrics or the docs), a rate and connection limit per client, and a body size for the largest route."""
    import re

    block = next(b for b in re.findall(r"```yaml\n(.*?)```", (REPO_ROOT / "README.md").read_text(), re.S) if "kind: Ingress" in b)
    ingress = yaml.safe_load(block)
    model = ingress["metadata"]["name"]
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert sorted(p["path"] for p in paths) == sorted(r.path for r in catalog.spec(model).routes)
    assert {p["pathType"] for p in paths} == {"Exact"} and {p["backend"]["service"]["name"] for p in paths} == {model}
    annotations = ingress["metadata"]["annotations"]
    assert {"limit-rps", "limit-connections", "proxy-body-size"} <= {k.rsplit("/", 1)[1] for k in annotations}
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > catalog.spec(model).timeout_s
