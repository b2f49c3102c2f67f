import pytest

from ingestion.config import validate_identifier
from ingestion.errors import ConfigError
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


def test_unknown_environment_is_rejected(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "staging")
    with pytest.raises(SettingsError, match="not one of"):
        environment()


@pytest.mark.parametrize("bad", ["Robert'); drop table x;--", "a-b", "1abc", "", "a b"])
def test_identifiers_from_config_are_validated(bad):
    with pytest.raises(ConfigError):
        validate_identifier(bad, "table")
