"""The dbt side of the environment guard (macros/assert_environment.sql), proven with real dbt invocations: neither
the case of LAKEHOUSE_ENV nor command-line `--vars` walks around it, and a refused run creates no schema."""

from __future__ import annotations

import pytest

from runtime.dbt import run_dbt

pytestmark = pytest.mark.integration

SEED = ["seed", "--select", "gyms"]  # cheap, and runs the on-run-start hooks


def _failure(result) -> str:
    """What made a dbt invocation fail: its exception, or the messages of the nodes and hooks that failed."""
    if result.exception is not None:
        return str(result.exception)
    return "\n".join(str(node.message) for node in result.result or [] if node.status in ("error", "fail"))


@pytest.fixture
def prod_not_allowed(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_ALLOW_PROD", raising=False)


def test_vars_cannot_add_a_spelling_of_prod(spark, monkeypatch, prod_not_allowed):
    monkeypatch.setenv("LAKEHOUSE_ENV", "Prod")
    result = run_dbt([*SEED, "--vars", "{environments: [dev, test, prod, Prod]}"])
    assert not result.success
    assert "environments and layers are fixed in dbt_project.yml" in _failure(result)
    assert not spark.catalog.databaseExists("prod_silver")


def test_any_spelling_of_prod_is_prod(spark, monkeypatch, prod_not_allowed):
    monkeypatch.setenv("LAKEHOUSE_ENV", "PROD")
    result = run_dbt(SEED)
    assert not result.success
    assert "refusing to build prod" in _failure(result)
    assert not spark.catalog.databaseExists("prod_silver")


def test_only_the_lowercase_name_is_an_environment(spark, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "Prod")
    monkeypatch.setenv("LAKEHOUSE_ALLOW_PROD", "yes")
    result = run_dbt(SEED)
    assert not result.success
    assert "'Prod' is not one of dev, test, prod" in _failure(result)
    assert not spark.catalog.databaseExists("prod_silver")


def test_vars_cannot_move_the_layers(spark, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "test")
    result = run_dbt([*SEED, "--vars", "{layers: {bronze: bronze, silver: prod_silver, gold: gold}}"])
    assert not result.success
    assert "--vars may not set layers" in _failure(result)
    assert not spark.catalog.databaseExists("test_prod_silver")


def test_other_vars_are_still_allowed(spark, monkeypatch):
    """The guard looks at the names of the vars, not at their text: `players` is not `layers`."""
    monkeypatch.setenv("LAKEHOUSE_ENV", "test")
    result = run_dbt([*SEED, "--vars", "{players: [Prod], note: environments}"])
    assert result.success, _failure(result)
    assert spark.catalog.tableExists("test_silver.gyms")
