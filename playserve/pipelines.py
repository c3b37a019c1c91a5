"""Training pipelines as Argo Workflows, written with hera and rendered to ci/argo/.

Per model: a WorkflowTemplate (checkout -> train, evaluate, gate and register -> build -> push
-> commit the staging bump) and a CronWorkflow that runs it weekly. The steps call the same
`playserve` commands as CI and people do. `playserve generate` writes them; `playserve generate
--check` (run by the tests) fails when the committed YAML differs from what this module renders.
"""

from __future__ import annotations


from hera.workflows import DAG, Container, CronWorkflow, Env, Parameter, SecretEnv, WorkflowTemplate
from hera.workflows.models import (
    ObjectMeta,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    Quantity,
    SecurityContext,
    VolumeResourceRequirements,
    WorkflowTemplateRef,
)

from playserve.images import TOOLBOX_TAG
from playserve.paths import REPO_ROOT
from playserve import catalog

OUTPUT = REPO_ROOT / "ci" / "argo"
NAMESPACE = "playserve-pipelines"
# The steps' image (git, buildah, podman, skopeo, uv): `playserve build toolbox && playserve push
# toolbox --image TAG`, which ci/release.sh does. Its tag names its recipe, like the base image's.
TOOLBOX = f"{{{{workflow.parameters.registry}}}}/playserve/toolbox:{TOOLBOX_TAG}"
REPO_URL = "https://github.com/playserve/playserve.git"
WORKSPACE = "/workspace"
SCHEDULE = "0 3 * * 1"  # Mondays 03:00: retrain on the week's data


def _step(name: str, script: str, privileged: bool = False) -> Container:
    return Container(
        name=name,
        image=TOOLBOX,
        command=["bash", "-euo", "pipefail", "-c"],
        args=[script],
        working_dir=f"{WORKSPACE}/repo",
        env=[
            Env(name="BENTOML_HOME", value=f"{WORKSPACE}/bentoml"),
            # Each step is a new pod: the image store lives in the workspace so push finds what build made.
            Env(name="CONTAINERS_STORAGE_CONF", value=f"{WORKSPACE}/repo/ci/containers/storage-pipeline.conf"),
            Env(name="PLAYSERVE_REGISTRY", value="{{workflow.parameters.registry}}"),
            Env(name="GIT_AUTHOR_NAME", value="playserve-pipeline"),
            Env(name="GIT_AUTHOR_EMAIL", value="pipeline@playserve.invalid"),
            Env(name="GIT_COMMITTER_NAME", value="playserve-pipeline"),
            Env(name="GIT_COMMITTER_EMAIL", value="pipeline@playserve.invalid"),
            SecretEnv(name="GIT_TOKEN", secret_name="playserve-git", secret_key="token"),  # push + pull requests
        ],
        volume_mounts=[{"name": "workspace", "mountPath": WORKSPACE}],
        # buildah inside a pod needs privileges; only the build and push steps get them
        security_context=SecurityContext(privileged=True) if privileged else None,
    )


def workflow_template(model: str) -> WorkflowTemplate:
    with WorkflowTemplate(
        name=f"{model}-training",
        namespace=NAMESPACE,
        entrypoint="pipeline",
        arguments=[Parameter(name="revision", value="main"), Parameter(name="registry", value="127.0.0.1:5000")],
        volume_claim_templates=[
            PersistentVolumeClaim(
                metadata=ObjectMeta(name="workspace"),
                spec=PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], resources=VolumeResourceRequirements(requests={"storage": Quantity("20Gi")})),
            )
        ],
        labels={"app.kubernetes.io/part-of": "playserve", "playserve/model": model},
    ) as template:
        checkout = _step("checkout", f"git clone --branch '{{{{workflow.parameters.revision}}}}' {REPO_URL} {WORKSPACE}/repo")
        checkout.working_dir = WORKSPACE
        train = _step("train-gate-register", f"ci/setup.sh && mkdir -p runs && .venv/bin/playserve train {model} --json > runs/{model}.json")
        build = _step("build", f".venv/bin/playserve build {model} > {WORKSPACE}/image.json", privileged=True)
        push = _step("push", f".venv/bin/playserve push {model} --image \"$(python3 -c 'import json; print(json.load(open(\"{WORKSPACE}/image.json\"))[\"tag\"])')\"", privileged=True)
        bump = _step("bump-staging", f"ci/open-bump.sh {model} staging \"$(python3 -c 'import json; print(json.load(open(\"{WORKSPACE}/image.json\"))[\"tag\"])')\"")
        with DAG(name="pipeline"):
            checkout() >> train() >> build() >> push() >> bump()
    return template


def cron_workflow(model: str) -> CronWorkflow:
    return CronWorkflow(
        name=f"{model}-retraining",
        namespace=NAMESPACE,
        schedules=[SCHEDULE],
        timezone="UTC",
        concurrency_policy="Forbid",
        starting_deadline_seconds=3600,
        successful_jobs_history_limit=3,
        failed_jobs_history_limit=3,
        workflow_template_ref=WorkflowTemplateRef(name=f"{model}-training"),
        labels={"app.kubernetes.io/part-of": "playserve", "playserve/model": model},
    )


def rendered() -> dict[str, str]:
    """File name -> YAML for every model with a service."""
    files = {}
    for model in catalog.names():
        files[f"{model}-training-workflowtemplate.yaml"] = workflow_template(model).to_yaml()
        files[f"{model}-retraining-cronworkflow.yaml"] = cron_workflow(model).to_yaml()
    return files
