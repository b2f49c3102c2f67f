"""Rows per file from the histogram a batch's write observes (ingest._per_file)."""

from __future__ import annotations

from pyspark.sql import Row

from ingestion.ingest import _per_file


def test_points_at_one_index_are_summed_and_a_merged_mean_is_its_index():
    points = [Row(x=0.0, y=10.0), Row(x=0.9999999999999999, y=2500.0), Row(x=1.0, y=500.0), Row(x=2.0, y=7.0)]
    assert _per_file(points) == {0: 10, 1: 3000, 2: 7}


def test_a_point_between_two_indexes_is_not_a_count():
    assert _per_file([Row(x=0.0, y=10.0), Row(x=1.5, y=20.0)]) is None


def test_no_rows_no_points():
    assert _per_file(None) == {} and _per_file([]) == {}
