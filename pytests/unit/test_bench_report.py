"""The benchmark report is well-formed (the harness itself is run by hand: see bench/run.py)."""

import gzip
import importlib.util
import json
import sys

import pytest

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
        "dbt_incremental": bench.Figure("dbt build after one more hourly batch", [70.0], peak_mb=[1000.0]),
        "dbt_noop_all": bench.Figure("dbt build of everything, nothing new", [30.0], peak_mb=[1000.0]),
        "dbt_incremental_all": bench.Figure("dbt build of everything after the batch", [50.0], peak_mb=[1000.0]),
        "dbt_parse": bench.Figure("dbt parse", [3.0]),
        "ingest_batch": bench.Figure("ingestion of the hourly batch", [2.0], peak_mb=[1000.0]),
        "ingest_batch_alone": bench.Figure("one source's batch alone", [1.2, 1.9, 1.4], peak_mb=[1000.0]),
        "dbt_ratio": bench.Figure("ratio", [0.7], "x"),
        "noop_ratio": bench.Figure("ratio", [0.04], "x"),
        "batch_bytes": bench.Figure("batch", [0.1 * bench.MB], "B"),
        "file_counts": {"dev_silver.t": 3},
    }
    text = bench.report(
        "small",
        3,
        figures,
        {"rows": 1000, "bytes": 10 * bench.MB},
        {"silver.t": (1, 2)},
        {"model.lakehouse.a": 1.0, "test.lakehouse.b.0123456789": 2.0},
        3,
    )
    assert "### Scale `small`, 3 days (10 MB landed, 1,000 records)" in text
    assert "| ingestion: ours | 12.0 s [11.0-13.0] | 0.8 MB/s, 83 rows/s | 900 MB |" in text
    assert "**1.20x** (goal ≤ 1.5x: met)" in text
    assert "One source's hourly batch alone (the fixed cost per batch): **1.40 s** (goal ≤ 1.5 s: met)" in text
    assert "(1.0% of the data landed) / full refresh: **70%** (goal ≤ 10%: missed)" in text
    assert "| dbt build of everything after the batch | 50.0 s [50.0-50.0] | | 1,000 MB |" in text
    assert "Build with nothing new / full refresh: **4%** (goal ≤ 5%: met)" in text
    assert "- `silver.t`: 1 / 2" in text
    assert "Slowest nodes of the incremental build: `b` 2.0 s, `a` 1.0 s" in text
    assert "Delta data files per table after the incremental build: `dev_silver.t` 3" in text


def test_the_hostile_folder_is_as_hostile_as_it_says(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_hostile", PROJECT_ROOT / "bench" / "hostile.py")
    hostile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hostile)

    records = hostile.land(tmp_path / "hostile")

    files = {path.name: path for path in (tmp_path / "hostile").iterdir()}
    assert len(files) == len(records) == 33
    assert records["many-lines.json"] == 200_000
    wide = json.loads(files["wide.json"].read_text().splitlines()[0])
    assert len(wide) == 3 + 3000
    assert max(len(line) for line in files["long-line.json"].read_bytes().splitlines()) > 8 * 1024 * 1024
    with pytest.raises(EOFError):
        gzip.decompress(files["broken.json.gz"].read_bytes())
    for name, count in records.items():
        if name.endswith(".json"):
            assert len(files[name].read_text().splitlines()) == count, name
