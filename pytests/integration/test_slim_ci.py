"""Slim CI, as .github/workflows/ci.yml documents it: `dbt build --select state:modified+ --defer --state <main's
manifest>` on a copy of the project with one model changed builds only that model and its children (and their
tests), leaving every unchanged parent as main built it. On the local target, after the session's pipeline built
main, in the same environment: a source whose schema differs from the state's counts as modified, so a CI run
reads the bronze of the environment whose manifest it compares with. The build also says once, not per model,
that grants are skipped on Spark."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import copy_project

from runtime.dbt import run_dbt
from runtime.project import state_dir

pytestmark = pytest.mark.integration
CHANGED = "int_gym_visits_attributed"  # its one child model: gym_summary
UNCHANGED = ("test_silver.int_workout_sessions_paired", "test_gold.workout_bpm_summary")  # a parent, a bystander


def test_only_a_changed_model_and_its_children_build(spark, pipeline, tmp_path, monkeypatch):
    main_state = state_dir() / "dbt-state" / "test"  # the artifacts of the pipeline's last successful build
    assert (main_state / "manifest.json").exists()

    branch = copy_project(tmp_path / "branch")
    model = next((branch / "models").rglob(f"{CHANGED}.sql"))
    model.write_text(model.read_text().replace("select * from final", "select * from final where true"))

    monkeypatch.setenv("DBT_PROJECT_DIR", str(branch))
    before = {table: spark.sql(f"describe history {table} limit 1").first().version for table in UNCHANGED}
    logs = tmp_path / "logs"
    result = run_dbt(
        [
            "build",
            "--select", "state:modified+",
            "--defer", "--state", str(main_state),
            "--target-path", str(tmp_path / "target"),
            "--log-path", str(logs),
        ]
    )  # fmt: skip
    assert result.success
    built = {r.node.name: r.node.schema for r in result.result if r.node.resource_type in ("model", "seed")}
    assert built == {CHANGED: "test_silver", "gym_summary": "test_gold"}
    tested = {r.node.attached_node.split(".")[-1] for r in result.result if r.node.resource_type == "test"}
    assert tested == {CHANGED, "gym_summary"}
    after = {table: spark.sql(f"describe history {table} limit 1").first().version for table in UNCHANGED}
    assert after == before  # nothing else was written

    # `lakehouse build`'s selector (selectors.yml) on the same branch: the changed code's unit tests run with it.
    shutil.copy2(Path(os.environ["DBT_TARGET_PATH"]) / "sources.json", tmp_path / "target" / "sources.json")
    listed = run_dbt(
        ["ls", "--selector", "changed", "--state", str(main_state), "--resource-type", "unit_test", "--output", "name",
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "ls-logs"), "--quiet"]
    )  # fmt: skip
    assert listed.success and sorted(listed.result) == ["test_gym_summary_overlap_and_local_date"]

    notices = [line for line in (logs / "dbt.log").read_text().splitlines() if "grants: not applied" in line]
    assert len(notices) == 1, notices
    assert "2 models and seeds of this run configure them" in notices[0]
