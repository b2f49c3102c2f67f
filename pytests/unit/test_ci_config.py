"""The CI workflow and the pre-commit hooks run what the README and `make lint` run."""

from __future__ import annotations

import re
import shlex
import subprocess

import yaml

from runtime.project import PROJECT_ROOT


def test_ci_runs_the_readmes_test_command():
    workflow = yaml.safe_load((PROJECT_ROOT / ".github/workflows/ci.yml").read_text())
    commands = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "make test" in commands
    assert "make test   # every check" in (PROJECT_ROOT / "README.md").read_text()


def test_pre_commit_hooks_run_the_projects_own_tools_on_its_files():
    config = yaml.safe_load((PROJECT_ROOT / ".pre-commit-config.yaml").read_text())
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.split()
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "sqlfluff"} <= set(hooks)
    for hook in hooks.values():
        executable = shlex.split(hook["entry"])[0]
        assert executable.startswith(".venv/bin/"), hook["id"]
        assert (PROJECT_ROOT / executable).exists(), f"{hook['id']}: {executable} (make setup installs it)"
        if "files" in hook:
            assert any(re.search(hook["files"], path) for path in tracked), f"{hook['id']} matches no file"
