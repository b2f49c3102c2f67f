"""`dbt docs generate` on the local target: the catalog documents every relation dbt builds or reads, with the columns
and types the relation really has. Delta tables keep their schema in the Delta log, where dbt-spark's catalog does not
look (macros/spark__list_relations_without_caching.sql)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runtime.dbt import run_dbt

pytestmark = pytest.mark.integration
DOCUMENTED = ("model", "seed", "snapshot")


@pytest.fixture(scope="module")
def docs(pipeline) -> tuple[dict, dict]:
    """(manifest, catalog) of a `docs generate` on the built pipeline."""
    result = run_dbt(["docs", "generate"])
    assert result.success, "dbt docs generate failed"
    target = Path(os.environ["DBT_TARGET_PATH"])
    return tuple(json.loads((target / name).read_text()) for name in ("manifest.json", "catalog.json"))


def _relations(manifest: dict) -> dict[str, dict]:
    """Every node the catalog should describe: seeds, snapshots, non-ephemeral models and sources, by unique id."""
    nodes = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in DOCUMENTED and node["config"]["materialized"] != "ephemeral"
    }
    return nodes | manifest["sources"]


def test_every_node_and_source_is_in_the_catalog(docs):
    manifest, catalog = docs
    relations = _relations(manifest)
    materializations = {node["config"].get("materialized", "source") for node in relations.values()}
    # The project has each kind; a kind missing here would leave its catalog path untested.
    assert {"view", "table", "incremental", "seed", "source"} <= materializations

    assert not catalog.get("errors")
    documented = catalog["nodes"] | catalog["sources"]
    assert sorted(set(relations) - set(documented)) == []


def test_catalog_columns_are_the_relations_columns_and_types(spark, docs):
    manifest, catalog = docs
    documented = catalog["nodes"] | catalog["sources"]
    wrong = {}
    for unique_id, node in _relations(manifest).items():
        entry = documented.get(unique_id)
        columns = sorted(entry["columns"].values(), key=lambda column: column["index"]) if entry else []
        actual = [(field.name, field.dataType.simpleString()) for field in spark.table(node["relation_name"]).schema]
        listed = [(column["name"], column["type"]) for column in columns]
        kind = "view" if node["config"].get("materialized") == "view" else "table"
        listed_kind = entry["metadata"]["type"] if entry else None
        if (listed_kind, listed) != (kind, actual):
            wrong[unique_id] = {"catalog": (listed_kind, listed), "relation": (kind, actual)}
    assert wrong == {}
