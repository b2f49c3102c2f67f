from ingestion.autoloader import cloudfiles_options
from ingestion.config import parse_config


def _source(**options):
    raw = {"sources": {"events": {"path": "events", **options}}}
    return parse_config(raw, landing_uri="s3://bucket/landing").sources["events"]


def test_json_source_maps_to_auto_loader_options():
    source = _source(
        format="json",
        schema={"id": "bigint", "at": "timestamp"},
        schema_evolution="rescue",
        max_files_per_batch=50,
        allow_overwrites=True,
    )
    assert cloudfiles_options(source, "/chk/schema") == {
        "cloudFiles.format": "json",
        "cloudFiles.schemaLocation": "/chk/schema",
        "cloudFiles.schemaEvolutionMode": "rescue",
        "cloudFiles.maxFilesPerTrigger": "50",
        "cloudFiles.allowOverwrites": "true",
        "cloudFiles.inferColumnTypes": "false",
        "cloudFiles.schemaHints": "`id` bigint, `at` timestamp",
        "rescuedDataColumn": "_rescued_data",
        "columnNameOfCorruptRecord": "_corrupt_record",
    }


def test_csv_options_and_defaults():
    options = cloudfiles_options(_source(format="csv", csv={"delimiter": ";"}), "/s")
    assert options["sep"] == ";" and options["header"] == "true" and options["multiLine"] == "true"
    assert options["cloudFiles.schemaEvolutionMode"] == "addNewColumns"  # Auto Loader's own default
    assert "cloudFiles.schemaHints" not in options


def test_parquet_keeps_its_own_types():
    assert cloudfiles_options(_source(format="parquet"), "/s")["cloudFiles.inferColumnTypes"] == "true"
