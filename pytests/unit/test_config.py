import re

import pytest

from ingestion.config import (
    LINEAGE_COLUMNS,
    SCHEMA_HISTORY,
    TRANSFER_LOG,
    CsvOptions,
    SourceConfig,
    parse_config,
    read_config,
    spark_sql_type,
    to_uri,
)
from ingestion.errors import ConfigError
from ingestion.tables import LINEAGE_SCHEMA
from runtime.project import PROJECT_ROOT, load_config


def _parse(**source) -> SourceConfig:
    raw = {"sources": {"events": {"path": "events", "format": "json", **source}}}
    return parse_config(raw, landing_uri="/l").sources["events"]


def _entry() -> dict:
    return {"path": "a", "format": "json"}


def _problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, landing_uri="/l")
    return str(caught.value).splitlines()


def test_the_repository_sources_file_is_valid():
    config = load_config(PROJECT_ROOT / "lakehouse.yml")
    assert set(config.sources) == {
        *("device_registry", "user_profile_cdc", "heart_rate", "workouts", "gym_logins"),
        *("customers", "orders", "refunds"),
    }
    assert config.sources["device_registry"].allow_overwrites
    address = "struct<street:string,city:string,state:string,zip:string>"
    assert config.sources["user_profile_cdc"].schema["address"] == address


def test_locations_resolve_against_the_landing_uri():
    config = parse_config({"sources": {"a": {"path": "a/b", "format": "csv"}}}, landing_uri="s3://bucket/raw/")
    assert config.sources["a"].uri == "s3a://bucket/raw/a/b"
    assert to_uri("/tmp/x", PROJECT_ROOT) == "file:///tmp/x"
    assert to_uri("relative", PROJECT_ROOT).startswith("file://" + str(PROJECT_ROOT))
    assert to_uri("/Volumes/main/raw/files", PROJECT_ROOT) == "/Volumes/main/raw/files"


def test_settings_defaults_are_the_files_defaults():
    parsed = _parse()
    declared = SourceConfig(name="events", uri=parsed.uri, format="json", table="events")
    assert parsed == declared
    assert parsed.max_new_columns_per_batch == 50


def test_settings_are_typed_and_immutable():
    source = _parse(
        format="csv",
        allow_overwrites=True,
        max_files_per_batch=7,
        max_new_columns_per_batch=0,
        csv={"delimiter": ";", "header": False},
    )
    assert (source.allow_overwrites, source.max_files_per_batch, source.max_new_columns_per_batch) == (True, 7, 0)
    assert source.csv == CsvOptions(header=False, delimiter=";")
    with pytest.raises(AttributeError):
        source.table = "other"  # type: ignore[misc]
    with pytest.raises(ValueError):
        source.csv.delimiter = "|"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"format": "xml"}, "sources.events.format: 'xml' must be one of 'json', 'csv' or 'parquet'"),
        ({"schema_evolution": "merge"}, "sources.events.schema_evolution: 'merge' must be one of"),
        ({"table": "bad-name"}, "sources.events.table: table 'bad-name' is not a valid identifier"),
        ({"table": TRANSFER_LOG}, f"sources.events.table: table '{TRANSFER_LOG}' is the name of one of ingestion's"),
        ({"table": SCHEMA_HISTORY}, f"table '{SCHEMA_HISTORY}' is the name of one of ingestion's own tables"),
        ({"table": "t" * 129}, "sources.events.table: table 'tttttttttttttttttttttttt...' is 129 characters long"),
        ({"schema": {"a b": "string"}}, "sources.events.schema.a b: column name 'a b'"),
        ({"schema": {"c" * 300: "string"}}, "schema.cccccccccccccccccccccccc...: column name 'ccc"),
        ({"schema": {"_batch_id": "bigint"}}, "sources.events.schema._batch_id: column '_batch_id' collides with"),
        ({"schema": {"a": "string", "A": "int"}}, "sources.events.schema: column 'A' is declared twice"),
        ({"schema": {}}, "sources.events.schema: must map at least one column"),
        ({"schema": {"a": "string; drop table x"}}, "sources.events.schema.a: 'string; drop table x' is not a Spark"),
        ({"schema": {"a": 5}}, "sources.events.schema.a: input should be a valid string, not 5"),
        (
            {"allow_overwrites": "false"},
            "sources.events.allow_overwrites: input should be a valid boolean, not 'false'",
        ),
        ({"infer_column_types": 1}, "sources.events.infer_column_types: input should be a valid boolean, not 1"),
        (
            {"max_files_per_batch": True},
            "sources.events.max_files_per_batch: input should be a valid integer, not True",
        ),
        ({"max_files_per_batch": 0}, "sources.events.max_files_per_batch: input should be greater than or equal to 1"),
        ({"max_new_columns_per_batch": -1}, "max_new_columns_per_batch: input should be greater than or equal to 0"),
        ({"max_new_columns_per_batch": "5"}, "max_new_columns_per_batch: input should be a valid integer, not '5'"),
        ({"path": ""}, "sources.events.path: '' names no folder"),
        ({"path": " / /"}, "sources.events.path: ' / /' names no folder"),
        ({"path": "a/../../secrets"}, "sources.events.path: 'a/../../secrets' goes up with '..'"),
        ({"path": None}, "sources.events.path: input should be a valid string, not None"),
        ({"csv": {"header": True}}, "sources.events: csv options only apply to format: csv"),
        ({"surprise": 1}, "sources.events.surprise: unknown key"),
        ({"uri": "s3://elsewhere"}, "sources.events.uri: unknown key"),
        ({"csv": []}, "sources.events.csv: must be a mapping, not []"),
    ],
)
def test_invalid_sources_are_rejected_with_the_place_named(source, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _parse(**source)


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ({"header": "true"}, "sources.events.csv.header: input should be a valid boolean, not 'true'"),
        ({"delimiter": ";;"}, "sources.events.csv.delimiter: must be a single character other than a line break"),
        ({"quote": ""}, "sources.events.csv.quote: must be a single character other than a line break, not ''"),
        ({"escape": "\n"}, "sources.events.csv.escape: must be a single character other than a line break"),
        ({"delimiter": "\r"}, "sources.events.csv.delimiter: must be a single character other than a line break"),
        ({"delimiter": "'", "quote": "'"}, 'sources.events.csv: delimiter and quote are both "\'"'),
        ({"sep": ";"}, "sources.events.csv.sep: unknown key"),
    ],
)
def test_invalid_csv_dialects_are_rejected(csv, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _parse(format="csv", csv=csv)


@pytest.mark.parametrize(
    ("declared", "canonical"),
    [
        ("BIGINT", "bigint"),
        ("long", "bigint"),
        ("Integer", "int"),
        ("byte", "tinyint"),
        ("short", "smallint"),
        ("real", "float"),
        ("timestamp_ltz", "timestamp"),
        ("timestamp_ntz", "timestamp_ntz"),
        ("variant", "variant"),
        ("decimal", "decimal(10,0)"),
        ("numeric(12)", "decimal(12,0)"),
        ("dec( 38 , 38 )", "decimal(38,38)"),
        ("varchar(20)", "varchar(20)"),
        ("array<map<string, array<double>>>", "array<map<string,array<double>>>"),
        (
            "struct<Street string, geo: struct<lat:double,lon:double>>",
            "struct<street:string,geo:struct<lat:double,lon:double>>",
        ),
    ],
)
def test_spark_sql_types_are_kept_in_their_canonical_spelling(declared, canonical):
    assert spark_sql_type(declared) == canonical
    assert _parse(schema={"a": declared}).schema == {"a": canonical}


@pytest.mark.parametrize(
    ("declared", "reason"),
    [
        ("foo", "unknown type 'foo'"),
        ("decimal(50,2)", "decimal precision must be 1 to 38, not 50"),
        ("decimal(0)", "decimal precision must be 1 to 38, not 0"),
        ("decimal(5,6)", "decimal scale must be 0 to the precision (5), not 6"),
        ("decimal(5,", "ends where the decimal scale was expected"),
        ("struct<a:int", "ends where ',' or '>' was expected"),
        ("struct<>", "a struct needs at least one field"),
        ("struct<a:int,A:string>", "struct field 'a' is declared twice"),
        ("struct<1a:int>", "struct field name '1' must match"),
        (f"struct<{'f' * 129}:int>", "struct field name 'ffffffffffffffffffffffff...' is 129 characters long"),
        ("struct<a int b int>", "expected ',' or '>', found 'b'"),
        ("array<>", "expected a type, found '>'"),
        ("map<string>", "expected ',', found '>'"),
        ("char(0)", "char length must be at least 1"),
        ("varchar", "ends where '(' was expected"),
        ("int int", "unexpected 'int' after int"),
        ("interval day", "unknown type 'interval'"),
        ("string collate utf8_binary", "unexpected 'collate' after string"),
        ("", "ends where a type was expected"),
    ],
)
def test_types_spark_cannot_parse_are_rejected_with_the_reason(declared, reason):
    message = f"sources.events.schema.a: {declared!r} is not a Spark SQL type: {reason}"
    with pytest.raises(ConfigError, match=re.escape(message)):
        _parse(schema={"a": declared})


def test_every_problem_of_the_file_is_reported_one_line_each():
    raw = {
        "landing": {"uri": "/l", "bucket": "x"},
        "sources": {
            "heart_rate": {"path": "heart_rate", "format": "json", "schema": {"time": "foo", "bpm": "decimal(50,2)"}},
            "Gym-Logins": {"path": "gym_logins", "format": "csv", "csv": {"delimiter": ";;"}},
            "workouts": {"format": "json", "allow_overwrites": "false"},
            "ingestion_schema_history": {"path": "x", "format": "parquet"},
        },
    }
    assert _problems(raw) == [
        "landing.bucket: unknown key",
        "sources.heart_rate.schema.time: 'foo' is not a Spark SQL type: unknown type 'foo'",
        "sources.heart_rate.schema.bpm: 'decimal(50,2)' is not a Spark SQL type: decimal precision must be 1 to 38, "
        "not 50",
        "sources.Gym-Logins: source name 'Gym-Logins' is not a valid identifier (lowercase letters, digits, "
        "underscores)",
        "sources.Gym-Logins.csv.delimiter: must be a single character other than a line break, not ';;'",
        "sources.workouts: missing required key 'path'",
        "sources.workouts.allow_overwrites: input should be a valid boolean, not 'false'",
        "sources.ingestion_schema_history: source name 'ingestion_schema_history' is the name of one of "
        "ingestion's own tables; choose another",
    ]


def test_two_sources_cannot_share_a_bronze_table():
    raw = {
        "sources": {
            "a": {"path": "a", "format": "json", "table": "t"},
            "b": {"path": "b", "format": "json", "table": "t"},
            "t": {"path": "t", "format": "json"},
        }
    }
    assert _problems(raw) == ["sources: a, b, t write to the same bronze table 't' (table defaults to the source name)"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "the sources file needs a non-empty 'sources' mapping"),
        ({}, "the sources file: missing required key 'sources'"),
        ({"sources": {}}, "sources: declares no source"),
        ({"sources": ["a"]}, "sources: must be a mapping, not ['a']"),
        ({"sources": {"a": {"path": "a", "format": "json"}}, "extra": 1}, "extra: unknown key"),
    ],
)
def test_the_file_needs_a_sources_mapping(raw, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(raw, landing_uri="/l")


def test_the_landing_zone_comes_from_the_file_unless_overridden():
    raw = {"landing": {"uri": "s3://bucket/raw", "s3_endpoint": "http://file:9000"}, "sources": {"a": _entry()}}
    assert parse_config(raw).landing.uri == "s3a://bucket/raw"
    overridden = parse_config(raw, landing_uri="/l", s3_endpoint="http://env:9000").landing
    assert (overridden.uri, overridden.s3_endpoint) == ("file:///l", "http://env:9000")
    with pytest.raises(ConfigError, match="no landing zone"):
        parse_config({"landing": None, "sources": {"a": _entry()}})


def test_read_config_names_the_file_above_its_problems(tmp_path):
    path = tmp_path / "lakehouse.yml"
    path.write_text("sources:\n  a: {path: a, format: json, max_files_per_batch: 'ten', allow_overwrites: 'no'}\n")
    with pytest.raises(ConfigError) as caught:
        read_config(path, landing_uri="/l")
    assert str(caught.value).splitlines() == [
        f"{path}: 2 problems",
        "sources.a.allow_overwrites: input should be a valid boolean, not 'no'",
        "sources.a.max_files_per_batch: input should be a valid integer, not 'ten'",
    ]


def test_unknown_source_selection_is_an_error():
    config = parse_config({"sources": {"a": _entry()}}, landing_uri="/l")
    assert config.select([]) == config.select(["a"]) == [config.sources["a"]]
    with pytest.raises(ConfigError, match="unknown source"):
        config.select(["nope"])


def test_lineage_columns_are_defined_once():
    assert tuple(LINEAGE_SCHEMA.fieldNames()) == LINEAGE_COLUMNS
