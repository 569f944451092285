""".github/workflows/deploy.yml: lint and test, build once, staging, its smoke test, then prod
behind an approval; AWS reached through OpenID Connect only, never a stored key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "deploy.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text()))


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if str(step.get("uses", "")).startswith(action + "@")]


def order(jobs: dict[str, Any]) -> list[str]:
    """The jobs in the order `needs` forces, each after all it needs."""
    done: list[str] = []
    while len(done) < len(jobs):
        ready = [name for name, job in jobs.items() if name not in done
                 and set(_needs(job)) <= set(done)]
        assert len(ready) == 1, f"not one chain of jobs: {ready}"
        done += ready
    return done


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def test_it_runs_on_pushes_to_main(workflow: dict[str, Any]) -> None:
    # YAML 1.1 reads the key `on` as True.
    assert workflow[True]["push"]["branches"] == ["main"]


def test_the_jobs_run_lint_and_test_then_build_staging_smoke_and_prod(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert order(jobs) == ["test", "build", "staging", "smoke", "prod"]
    assert "bash .ci/run" in steps_text(jobs["test"])  # make test and make lint
    assert re.search(r"^sam build$", steps_text(jobs["build"]), re.M)
    assert "sam deploy --config-env staging" in steps_text(jobs["staging"])
    assert "sam deploy --config-env prod" in steps_text(jobs["prod"])
    smoke = jobs["smoke"]["steps"][-1]
    assert smoke["run"] == 'make smoke URL="$URL"'
    assert smoke["env"]["URL"] == "${{ needs.staging.outputs.url }}"
    assert "SiteUrl" in steps_text(jobs["staging"])  # the URL is the stack's output
    # Prod deploys what staging was tested with: the build job's artifact, not a new build.
    for name in ("staging", "prod"):
        assert "sam build" not in steps_text(jobs[name])
        assert uses(jobs[name], "actions/download-artifact")[0]["with"]["name"] == "sam-build"


def test_prod_waits_for_the_production_environments_approval(workflow: dict[str, Any]) -> None:
    assert workflow["jobs"]["prod"]["environment"] == "production"
    assert workflow["jobs"]["staging"]["environment"] == "staging"


def test_aws_is_reached_with_openid_connect_and_no_stored_key(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in jobs.items():
        credentials = uses(job, "aws-actions/configure-aws-credentials")
        if name in ("staging", "smoke", "prod"):  # smoke makes its own customer in staging
            assert job["permissions"]["id-token"] == "write"
            (step,) = credentials
            assert re.fullmatch(r"\$\{\{ vars\.AWS_[A-Z]+_ROLE_ARN \}\}", step["with"]["role-to-assume"])
            assert set(step["with"]) == {"role-to-assume", "aws-region"}
        else:
            assert not credentials and "id-token" not in job.get("permissions", {})
    text = WORKFLOW.read_text()
    for key_name in ("aws-access-key-id", "aws-secret-access-key", "aws-session-token", "AWS_ACCESS_KEY_ID",
                     "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "secrets."):
        assert key_name not in text


def test_actions_are_pinned_to_a_version_and_python_is_the_runtimes(workflow: dict[str, Any]) -> None:
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", step["uses"]), step["uses"]
        (python,) = uses(job, "actions/setup-python")
        assert python["with"]["python-version"] == "${{ env.PYTHON_VERSION }}"
    assert workflow["env"]["PYTHON_VERSION"] == "3.12"
    assert re.fullmatch(r"\d+\.\d+\.\d+", workflow["env"]["SAM_CLI_VERSION"])


def test_the_stack_names_it_reads_are_those_of_samconfig() -> None:
    import tomllib

    config = tomllib.loads((WORKFLOW.parents[2] / "samconfig.toml").read_text())
    paths = re.findall(r"tomllib\.load\(open\('samconfig\.toml', 'rb'\)\)((?:\['[a-z_]+'\])+)", WORKFLOW.read_text())
    assert len(paths) == 2
    for path in paths:
        value: Any = config
        for key in re.findall(r"\['([a-z_]+)'\]", path):
            value = value[key]
        assert value.startswith("supportdesk-")
