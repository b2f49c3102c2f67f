import pytest

from ingestion.config import validate_identifier
from ingestion.errors import ConfigError
from runtime.dbt import _reads_only
from runtime.errors import SettingsError
from runtime.project import environment, environments, layers, schema


def test_layers_and_environments_come_from_dbt_project():
    assert environments() == ["dev", "test", "prod"]
    assert set(layers()) == {"bronze", "silver", "gold"}


def test_schema_is_environment_then_layer(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "dev")
    assert schema("bronze") == "dev_bronze"
    assert schema("gold", env="test") == "test_gold"


def test_prod_needs_an_explicit_allowance(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "prod")
    monkeypatch.delenv("LAKEHOUSE_ALLOW_PROD", raising=False)
    with pytest.raises(SettingsError, match="refusing to write to prod"):
        environment()
    monkeypatch.setenv("LAKEHOUSE_ALLOW_PROD", "yes")
    assert environment() == "prod"


@pytest.mark.parametrize("spelling", ["Prod", "PROD", "pRoD"])
def test_any_spelling_of_prod_is_prod(monkeypatch, spelling):
    """The catalog ignores the case of schema names: Prod_silver is prod_silver."""
    monkeypatch.setenv("LAKEHOUSE_ENV", spelling)
    monkeypatch.delenv("LAKEHOUSE_ALLOW_PROD", raising=False)
    with pytest.raises(SettingsError, match="refusing to write to prod"):
        environment()
    monkeypatch.setenv("LAKEHOUSE_ALLOW_PROD", "yes")
    with pytest.raises(SettingsError, match=f"LAKEHOUSE_ENV='{spelling}' is not one of dev, test, prod"):
        environment()


@pytest.mark.parametrize("env", ["staging", "Dev", "TEST", " prod", "prod ", ""])
def test_only_the_exact_lowercase_names_are_environments(monkeypatch, env):
    monkeypatch.setenv("LAKEHOUSE_ENV", env)
    monkeypatch.setenv("LAKEHOUSE_ALLOW_PROD", "yes")
    with pytest.raises(SettingsError, match="not one of dev, test, prod"):
        environment()


def test_the_default_environment_is_dev(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_ENV", raising=False)
    assert environment() == "dev"


@pytest.mark.parametrize("bad", ["Robert'); drop table x;--", "a-b", "1abc", "", "a b", "x" * 129])
def test_identifiers_from_config_are_validated(bad):
    with pytest.raises(ConfigError):
        validate_identifier(bad, "table")


def test_ingestion_and_the_cli_use_only_apis_a_spark_connect_session_has():
    """The engine serves Spark Connect sessions: no py4j, no JVM handles, no classic-only helpers."""
    import re

    from runtime.project import PROJECT_ROOT

    classic_only = re.compile(
        r"^\s*(from|import) py4j|\._jvm\b|\._jsparkSession|\._jsc\b|\._jdf\b|\.sparkContext\b|_parse_datatype_string"
        r"|from delta\.tables import",
        re.MULTILINE,
    )
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): classic_only.findall(path.read_text())
        for folder in ("ingestion", "runtime")
        for path in (PROJECT_ROOT / folder).glob("*.py")
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_a_developer_gets_schemas_of_their_own_in_dev_only(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "dev")
    monkeypatch.setenv("LAKEHOUSE_DEVELOPER", "alice")
    assert schema("bronze") == "dev_alice_bronze"
    assert schema("bronze", env="test") == "test_bronze"  # test and prod are shared: no developer there
    monkeypatch.delenv("LAKEHOUSE_DEVELOPER")
    assert schema("bronze") == "dev_bronze"


def test_a_developer_name_must_make_an_identifier(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "dev")
    monkeypatch.setenv("LAKEHOUSE_DEVELOPER", "alice; drop")
    with pytest.raises(ConfigError):
        schema("silver")


@pytest.mark.parametrize(
    ("sql", "reads_only"),
    [
        ('/* {"app": "dbt"} */\n\n  select count(*) as failures from t', True),
        ("-- Build actual result given inputs\nwith actual as (select update_type from t) select * from actual", True),
        ("SELECT 1", True),
        ("with rows as (select 1 as id) insert into t select * from rows", False),
        ("/* c */ WITH r AS (SELECT 1) INSERT OVERWRITE TABLE t SELECT * FROM r", False),
        ("with r as (select 1 as id) merge into t using r on t.id = r.id when matched then delete", False),
        ("create or replace temporary view v as select 1", False),
        ("cache table c as select 1", False),
        ("describe history t limit 1", False),
        ("insert into t select 1", False),
        ("-- select\nmerge into t using s on t.id = s.id when matched then update set *", False),
        ("", False),
    ],
)
def test_only_a_statement_that_can_only_read_is_sent_once(sql, reads_only):
    assert _reads_only(sql) is reads_only
