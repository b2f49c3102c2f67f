"""The conventions linter (dbt-score with dbt_score_rules/, run by `make lint`): the project passes it, and a
manifest breaking each convention fails it, naming the rule and the node."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.dbt import run_dbt
from runtime.project import PROJECT_ROOT

pytestmark = pytest.mark.integration
DBT_SCORE = [str(Path(sys.executable).parent / "dbt-score"), "lint", "--manifest"]


def lint(manifest: dict, path: Path) -> subprocess.CompletedProcess:
    path.write_text(json.dumps(manifest))
    return subprocess.run([*DBT_SCORE, str(path)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    target = tmp_path_factory.mktemp("parse-local")
    assert run_dbt(["parse", "--target", "local", "--target-path", str(target)]).success
    return json.loads((target / "manifest.json").read_text())


def _node(manifest: dict, name: str) -> dict:
    [node] = [node for node in manifest["nodes"].values() if node["name"] == name]
    return node


def test_the_project_follows_its_conventions(manifest, tmp_path):
    done = lint(manifest, tmp_path / "manifest.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ERR" not in done.stdout  # a rule that raises scores nothing: it must not raise


def test_each_broken_convention_fails(manifest, tmp_path):
    broken = copy.deepcopy(manifest)
    _node(broken, "gym_summary")["config"]["contract"]["enforced"] = False
    _node(broken, "user_profiles")["description"] = "The current profile of each live user."
    mart = _node(broken, "workout_bpm_summary")
    mart["depends_on"]["nodes"].append(next(iter(broken["sources"])))
    for test in [n for n in broken["nodes"].values() if n["resource_type"] == "test"]:
        if test.get("attached_node") == _node(broken, "stg_gym_logins__logins")["unique_id"]:
            del broken["nodes"][test["unique_id"]]
    readings = _node(broken, "stg_heart_rate__readings")
    readings["raw_code"] = readings["raw_code"].replace("pinned(source(", "(source(")
    events = _node(broken, "stg_workouts__workout_events")  # pinned once, and read once more unpinned
    events["raw_code"] += "\nunion all select * from {{ source('workouts', 'workouts') }}"
    source = next(s for s in broken["sources"].values() if s["name"] == "heart_rate")
    source["config"]["freshness"] = {"warn_after": {"count": None, "period": None}, "error_after": {"count": None}}
    done = lint(broken, tmp_path / "manifest.json")
    assert done.returncode != 0
    expected = [
        ("marts_have_enforced_contracts", "gym_summary"),
        ("grain_is_stated", "user_profiles"),
        ("source_only_in_staging", "workout_bpm_summary"),
        ("has_primary_key_test", "stg_gym_logins__logins"),
        ("source_has_freshness", "heart_rate"),
        ("incremental_reads_bronze_pinned", "stg_heart_rate__readings"),
        ("incremental_reads_bronze_pinned", "stg_workouts__workout_events"),
    ]
    blocks = done.stdout.split("\n\n")
    for rule, node in expected:
        assert any(node in block and f"conventions.{rule}" in block for block in blocks), (rule, done.stdout)
