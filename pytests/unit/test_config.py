import pytest

from ingestion.config import LINEAGE_COLUMNS, parse_config, to_uri
from ingestion.errors import ConfigError
from ingestion.tables import LINEAGE_SCHEMA
from runtime.project import PROJECT_ROOT, load_config


def _parse(**source):
    return parse_config({"sources": {"events": {"path": "events", "format": "json", **source}}}, landing_uri="/l")


def test_the_repository_sources_file_is_valid():
    config = load_config(PROJECT_ROOT / "lakehouse.yml")
    assert set(config.sources) == {"device_registry", "user_profile_cdc", "heart_rate", "workouts", "gym_logins"}
    assert config.sources["device_registry"].allow_overwrites


def test_locations_resolve_against_the_landing_uri():
    config = parse_config({"sources": {"a": {"path": "a/b", "format": "csv"}}}, landing_uri="s3://bucket/raw/")
    assert config.sources["a"].uri == "s3a://bucket/raw/a/b"
    assert to_uri("/tmp/x", PROJECT_ROOT) == "file:///tmp/x"
    assert to_uri("relative", PROJECT_ROOT).startswith("file://" + str(PROJECT_ROOT))
    assert to_uri("/Volumes/main/raw/files", PROJECT_ROOT) == "/Volumes/main/raw/files"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"format": "xml"}, "format 'xml' must be one of"),
        ({"schema_evolution": "merge"}, "schema_evolution 'merge'"),
        ({"table": "bad-name"}, "not a valid identifier"),
        ({"schema": {"a b": "string"}}, "column name 'a b'"),
        ({"schema": {"_batch_id": "bigint"}}, "collides with a lineage column"),
        ({"schema": {"a": "string", "A": "int"}}, "declared twice"),
        ({"schema": {"a": "string; drop table x"}}, "is not a Spark SQL type"),
        ({"max_files_per_batch": 0}, "positive integer"),
        ({"csv": {"header": True}}, "only apply to format: csv"),
        ({"surprise": 1}, "unknown key(s) surprise"),
    ],
)
def test_invalid_sources_are_rejected_with_the_place_named(source, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _parse(**source)


def test_two_sources_cannot_share_a_bronze_table():
    raw = {
        "sources": {
            "a": {"path": "a", "format": "json", "table": "t"},
            "b": {"path": "b", "format": "json", "table": "t"},
        }
    }
    with pytest.raises(ConfigError, match="same bronze table"):
        parse_config(raw, landing_uri="/l")


def test_unknown_source_selection_is_an_error():
    with pytest.raises(ConfigError, match="unknown source"):
        _parse().select(["nope"])


def test_lineage_columns_are_defined_once():
    assert tuple(LINEAGE_SCHEMA.fieldNames()) == LINEAGE_COLUMNS
