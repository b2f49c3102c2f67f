"""The benchmark report is well-formed (the harness itself is run by hand: see bench/run.py)."""

import importlib.util
import sys

from runtime.project import PROJECT_ROOT

spec = importlib.util.spec_from_file_location("bench_run", PROJECT_ROOT / "bench" / "run.py")
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_run"] = bench  # dataclasses look their module up while the file executes
spec.loader.exec_module(bench)


def test_figure_summary_is_median_min_max():
    assert bench.Figure("x", [3.0, 1.0, 2.0]).summary() == "2.0 s [1.0-3.0]"
    assert bench.Figure("r", [1.234], "x").summary() == "1.23 x [1.23-1.23]"


def test_report_has_every_figure_and_says_whether_goals_are_met(monkeypatch):
    monkeypatch.setattr(bench, "machine", lambda: "2 cores")
    figures = {
        "ingest_ours": bench.Figure("ingestion: ours", [12.0, 11.0, 13.0], peak_mb=[900.0]),
        "ingest_plain": bench.Figure("ingestion: plain", [10.0, 10.0, 10.0], peak_mb=[800.0]),
        "dbt_full": bench.Figure("dbt build --full-refresh", [100.0], peak_mb=[1000.0]),
        "dbt_noop": bench.Figure("dbt build, nothing new", [60.0], peak_mb=[1000.0]),
        "dbt_incremental": bench.Figure("dbt build after +1 day", [70.0], peak_mb=[1000.0]),
        "dbt_parse": bench.Figure("dbt parse", [3.0]),
        "dbt_ratio": bench.Figure("ratio", [0.7], "x"),
    }
    text = bench.report(
        "small",
        figures,
        {"rows": 1000, "bytes": 10 * bench.MB},
        {"silver.t": (1, 2)},
        {"model.lakehouse.a": 1.0, "test.lakehouse.b.0123456789": 2.0},
        3,
    )
    assert "### Scale `small` (10 MB landed, 1,000 records)" in text
    assert "| ingestion: ours | 12.0 s [11.0-13.0] | 0.8 MB/s, 83 rows/s | 900 MB |" in text
    assert "**+20%** (goal ≤ +10%: missed)" in text
    assert "**70%** (goal ≤ 10%: missed)" in text
    assert "- `silver.t`: 1 / 2" in text
    assert "Slowest nodes of the +1 day build: `b` 2.0 s, `a` 1.0 s" in text
