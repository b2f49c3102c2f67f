"""The databricks target, checked offline: `dbt parse` renders the profile, the configs and the on-run-start guard
without connecting. Grants per layer land in the manifest, each developer gets schemas of their own, and every
materialization, strategy and config the project uses is one dbt-databricks has (docs/databricks-parity.md)."""

from __future__ import annotations

import dataclasses
import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from runtime.dbt import run_dbt

pytestmark = pytest.mark.integration

DUMMY = {
    "DATABRICKS_HOST": "parse-only.invalid",
    "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/parse-only",
    "DBT_ENV_SECRET_DATABRICKS_TOKEN": "parse-only-token",
    "DATABRICKS_CATALOG_PREFIX": "lakehouse",
}


@contextmanager
def _environment(**values: str | None):
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def parse(target_path: Path, *args: str, env: str = "dev", developer: str | None = "alice", **extra):
    """(dbt result, manifest or None) of `dbt parse --target databricks` in `env` as `developer`."""
    settings = {**DUMMY, "LAKEHOUSE_ENV": env, "LAKEHOUSE_DEVELOPER": developer, **extra}
    with _environment(**settings):
        result = run_dbt(
            ["parse", "--target", "databricks", "--target-path", str(target_path), "--no-partial-parse", *args]
        )
    manifest = target_path / "manifest.json"
    return result, json.loads(manifest.read_text()) if result.success else None


def _built(manifest: dict) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed") and node["package_name"] == "lakehouse"
    }


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    result, parsed = parse(tmp_path_factory.mktemp("parse-databricks"))
    assert result.success, result.exception
    return parsed


# Access control -------------------------------------------------------------------------------------------------


def test_each_layer_is_granted_to_its_readers(manifest):
    layers = {}
    for name, node in _built(manifest).items():
        layer = node["schema"].rsplit("_", 1)[-1]
        layers.setdefault(layer, {})[name] = node["config"]["grants"]
    assert set(layers) == {"silver", "gold"}
    assert all(grants == {"select": ["lakehouse-engineers"]} for grants in layers["silver"].values()), layers
    assert all(grants == {"select": ["lakehouse-analysts"]} for grants in layers["gold"].values()), layers
    # bronze is ingestion's, not a model: its principal is granted on the schema after the run
    hooks = [node for node in manifest["nodes"].values() if node["resource_type"] == "operation"]
    assert any("grant_layer_access()" in hook["raw_code"] for hook in hooks)


def test_group_names_come_from_vars(tmp_path):
    result, parsed = parse(tmp_path, "--vars", "{analysts_group: bi-readers, engineers_group: data-eng}")
    assert result.success, result.exception
    grants = {node["schema"]: node["config"]["grants"] for node in _built(parsed).values()}
    assert grants == {"dev_alice_silver": {"select": ["data-eng"]}, "dev_alice_gold": {"select": ["bi-readers"]}}


def test_databricks_applies_dbt_grants_and_spark_skips_them(manifest):
    """The project's spark__apply_grants skips them; without databricks__apply_grants it would also win on
    Databricks (dispatch prefers the root project's spark__ over the adapter's default__)."""
    macros = manifest["macros"]
    assert "dbt.default__apply_grants" in macros["macro.lakehouse.databricks__apply_grants"]["macro_sql"]


# Isolated environments ----------------------------------------------------------------------------------------


def test_a_developer_lands_in_schemas_of_their_own_in_the_dev_catalog(manifest, tmp_path):
    alice = {(node["database"], node["schema"]) for node in _built(manifest).values()}
    assert alice == {("lakehouse_dev", "dev_alice_silver"), ("lakehouse_dev", "dev_alice_gold")}
    sources = {(source["database"], source["schema"]) for source in manifest["sources"].values()}
    assert sources == {("lakehouse_dev", "dev_alice_bronze")}

    result, bob = parse(tmp_path, developer="bob")
    assert result.success, result.exception
    assert not alice & {(node["database"], node["schema"]) for node in _built(bob).values()}


def test_test_and_prod_have_their_own_catalogs_and_no_developer(tmp_path):
    for env, extra in (("test", {}), ("prod", {"LAKEHOUSE_ALLOW_PROD": "yes"})):
        result, parsed = parse(tmp_path / env, env=env, **extra)
        assert result.success, result.exception
        schemas = {(node["database"], node["schema"]) for node in _built(parsed).values()}
        assert schemas == {(f"lakehouse_{env}", f"{env}_silver"), (f"lakehouse_{env}", f"{env}_gold")}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"developer": None}, "set LAKEHOUSE_DEVELOPER"),
        ({"developer": "Alice-Smith"}, "is not a lowercase identifier"),
        ({"env": "prod", "LAKEHOUSE_ALLOW_PROD": None}, "refusing to build prod"),
    ],
    ids=["no-developer", "bad-developer", "prod-outside-the-prod-job"],
)
def test_the_guard_on_databricks(tmp_path, settings, message):
    settings = dict(settings)
    env, developer = settings.pop("env", "dev"), settings.pop("developer", "alice")
    result, _ = parse(tmp_path, env=env, developer=developer, **settings)
    assert not result.success
    assert message in str(result.exception)


# Parity with dbt-databricks -------------------------------------------------------------------------------------

ON_SCHEMA_CHANGE = {"ignore", "fail", "append_new_columns", "sync_all_columns"}
# The project's own config keys, each read by a macro that has a databricks__ path (docs/databricks-parity.md).
PROJECT_CONFIGS = {"merge_window_column": "macro.lakehouse.databricks__get_merge_sql"}


def test_every_materialization_strategy_and_config_is_one_dbt_databricks_supports(manifest):
    from dbt.adapters.databricks.impl import DatabricksAdapter, DatabricksConfig
    from dbt.artifacts.resources import ModelConfig, SeedConfig

    strategies = DatabricksAdapter.valid_incremental_strategies(None)
    known = {field.name for kind in (ModelConfig, SeedConfig, DatabricksConfig) for field in dataclasses.fields(kind)}
    known |= {"pre-hook", "post-hook"}
    macros = manifest["macros"]
    problems = []
    for name, node in _built(manifest).items():
        config = node["config"]
        materialized = config["materialized"]
        if f"macro.dbt_databricks.materialization_{materialized}_databricks" not in macros:
            problems.append(f"{name}: materialized={materialized} has no dbt-databricks materialization")
        if config.get("file_format") != "delta":
            problems.append(f"{name}: file_format={config.get('file_format')} (merge and grants need delta)")
        if config.get("on_schema_change") not in ON_SCHEMA_CHANGE:
            problems.append(f"{name}: on_schema_change={config.get('on_schema_change')}")
        if materialized == "incremental":
            if config.get("incremental_strategy") not in strategies:
                problems.append(f"{name}: incremental_strategy={config.get('incremental_strategy')}")
            if config.get("incremental_strategy") == "merge" and not config.get("unique_key"):
                problems.append(f"{name}: a merge needs a unique_key")
        for key in set(config) - known:
            reader = PROJECT_CONFIGS.get(key)
            depends = macros.get(reader, {}).get("depends_on", {}).get("macros", []) if reader else []
            if "macro.lakehouse.merge_window_predicates" not in depends:
                problems.append(f"{name}: config {key} is neither dbt-databricks' nor read on the databricks target")
    assert problems == []
    used = {node["config"]["materialized"] for node in _built(manifest).values()}
    assert {"view", "table", "incremental", "seed"} <= used  # each kind checked above


def test_no_spark_override_of_a_dbt_macro_shadows_dbt_databricks(manifest):
    """dispatch looks for databricks__X, then spark__X, in the root project before the adapter's macros: a
    project spark__X that overrides dbt's X would silently replace dbt-databricks' own X on Databricks."""
    macros = manifest["macros"]
    adapters = ("dbt", "dbt_spark", "dbt_databricks")
    dbt_names = {unique_id.split(".", 2)[2] for unique_id in macros if unique_id.split(".")[1] in adapters}
    shadowing = [
        name
        for unique_id in macros
        if unique_id.startswith("macro.lakehouse.spark__")
        and {(name := unique_id.split(".", 2)[2]), f"default__{name[7:]}"} & dbt_names
        and f"macro.lakehouse.databricks__{name[7:]}" not in macros
    ]
    overrides = [unique_id for unique_id in macros if unique_id.startswith("macro.lakehouse.spark__")]
    assert len(overrides) >= 3 and shadowing == []
