"""Expectations (macros/_macros.yml) on a model of their own: a `fail` rule stops the model, and what was checked is
still recorded; `drop` rows are quarantined once however often they are checked; `warn` rows are kept and counted.
The model lives in a copy of the dbt project, so the project's own models stay as they are."""

from __future__ import annotations

import pytest
from conftest import copy_project
from pyspark.sql import functions as F

from runtime.dbt import run_dbt

pytestmark = pytest.mark.integration

PROBE = """
{{
    config(
        materialized='table',
        meta={'expectations': [
            {'name': 'above_floor', 'expect': 'n > ' ~ var('floor'), 'action': 'fail'},
            {'name': 'below_three', 'expect': 'n < 3', 'action': 'drop'},
            {'name': 'even', 'expect': 'n % 2 = 0', 'action': 'warn'},
        ]},
    )
}}

with

numbers as (

    select explode(sequence(-1, 4)) as n

),

checked as (

    {{ expectations_filter('numbers') }}

)

select * from checked
"""


def test_fail_stops_the_model_drop_quarantines_once_warn_counts(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "dev")  # a schema of its own: the session's test tables stay as built
    project = copy_project(tmp_path / "project")
    (project / "models" / "staging" / "expectation_probe.sql").write_text(PROBE)
    table = "dev_silver.expectation_probe"

    def run(floor: int):
        args = ["--project-dir", str(project), "--target-path", str(tmp_path / "target"), "--vars", f"floor: {floor}"]
        return run_dbt(["run", "--select", "expectation_probe", *args])

    def recorded() -> dict[str, tuple[int, int, str]]:
        """The latest run's expectation results of the probe: rule -> (rows checked, rows failed, outcome)."""
        results = spark.table("dev_silver.expectation_results").where(F.col("model_name") == "expectation_probe")
        latest = results.where(F.col("run_started_at") == results.agg(F.max("run_started_at")).first()[0])
        return {r.rule_name: (r.rows_checked, r.rows_failed, r.outcome) for r in latest.collect()}

    def quarantined() -> list[str]:
        quarantine = spark.table("dev_silver.expectation_quarantine").where(F.col("model_name") == "expectation_probe")
        return sorted(f"{r.rule_name} {r.record}" for r in quarantine.collect())

    try:
        failed = run(floor=0)  # -1 and 0 fail above_floor
        assert not failed.success
        [node] = [r for r in failed.result.results if r.node.name == "expectation_probe"]
        assert "expectation with action fail not met: above_floor (2 of 6 rows)" in node.message
        assert not spark.catalog.tableExists(table)  # not built
        # What the failed model checked is recorded all the same, and its dropped rows are quarantined.
        assert recorded() == {
            "above_floor": (6, 2, "failed"),
            "below_three": (6, 2, "dropped"),
            "even": (6, 3, "warned"),
        }
        assert quarantined() == ['below_three {"n":3}', 'below_three {"n":4}']

        assert run(floor=-5).success
        assert sorted(row.n for row in spark.table(table).collect()) == [-1, 0, 1, 2]  # odd ones warned, kept
        assert recorded() == {
            "above_floor": (6, 0, "passed"),
            "below_three": (6, 2, "dropped"),
            "even": (6, 3, "warned"),
        }
        assert quarantined() == ['below_three {"n":3}', 'below_three {"n":4}']  # checked twice, kept once
    finally:
        spark.sql(f"drop table if exists {table}")
        for log in ("expectation_results", "expectation_quarantine"):
            if spark.catalog.tableExists(f"dev_silver.{log}"):
                spark.sql(f"delete from dev_silver.{log} where model_name = 'expectation_probe'")
