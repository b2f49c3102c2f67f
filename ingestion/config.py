"""The sources file (lakehouse.yml): parsed, validated, and turned into typed settings.

Everything that later becomes a SQL identifier (source, table and column names) is validated here, so no
string from the file reaches SQL unchecked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingestion.errors import ConfigError

FORMATS = ("json", "csv", "parquet")
EVOLUTION_MODES = ("addNewColumns", "rescue", "failOnNewColumns", "none")
# Lineage columns ingestion adds to every bronze row; data columns may not use these names.
LINEAGE_COLUMNS = (
    "_source_file",
    "_file_modified_at",
    "_file_size",
    "_ingested_at",
    "_batch_id",
    "_rescued_data",
    "_corrupt_record",
)
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
SQL_TYPE = re.compile(r"^[a-z][a-z0-9_<>:, ()]*$")


@dataclass(frozen=True)
class CsvOptions:
    header: bool = True
    delimiter: str = ","
    quote: str = '"'
    escape: str = '"'  # RFC 4180: a quote inside a quoted field is doubled


@dataclass(frozen=True)
class SourceConfig:
    name: str
    uri: str  # absolute location of the source's files
    format: str
    table: str
    schema: dict[str, str] | None = None  # column -> Spark SQL type; None: inferred on the first run
    schema_evolution: str = "addNewColumns"
    allow_overwrites: bool = False
    max_files_per_batch: int = 1000
    infer_column_types: bool = False
    csv: CsvOptions = field(default_factory=CsvOptions)


@dataclass(frozen=True)
class LandingConfig:
    uri: str
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"


@dataclass(frozen=True)
class Config:
    landing: LandingConfig
    sources: dict[str, SourceConfig]

    def select(self, names: list[str] | None) -> list[SourceConfig]:
        """The named sources (all when `names` is empty), in file order; unknown names are an error."""
        if not names:
            return list(self.sources.values())
        unknown = [name for name in names if name not in self.sources]
        if unknown:
            raise ConfigError(f"unknown source(s) {', '.join(unknown)}; declared: {', '.join(self.sources)}")
        return [self.sources[name] for name in names]


def validate_identifier(value: str, what: str) -> str:
    """Return `value` if it is a safe lowercase SQL identifier, else raise naming `what`."""
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ConfigError(f"{what} {value!r} is not a valid identifier (lowercase letters, digits, underscores)")
    return value


def to_uri(location: str, base_dir: Path) -> str:
    """A URI Spark and Hadoop understand: URIs pass through, local paths (relative to `base_dir`) become
    absolute file: URIs."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location):
        return location.replace("s3://", "s3a://", 1) if location.startswith("s3://") else location
    if location.startswith("/Volumes/"):
        return location
    path = Path(location)
    return (path if path.is_absolute() else base_dir / path).resolve().as_uri()


def join_uri(base: str, relative: str, base_dir: Path) -> str:
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", relative) or relative.startswith("/"):
        return to_uri(relative, base_dir)
    return base.rstrip("/") + "/" + relative.strip("/")


def _require(mapping: dict, key: str, where: str):
    if key not in mapping:
        raise ConfigError(f"{where}: missing required key '{key}'")
    return mapping[key]


def _parse_schema(raw, where: str) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{where}.schema must be a mapping of column name to Spark SQL type")
    lineage = {name.lower() for name in LINEAGE_COLUMNS}
    seen: set[str] = set()
    schema = {}
    for column, sql_type in raw.items():
        if not isinstance(column, str) or not COLUMN_NAME.match(column):
            raise ConfigError(f"{where}.schema: column name {column!r} must match {COLUMN_NAME.pattern}")
        if column.lower() in lineage:
            raise ConfigError(f"{where}.schema: column {column!r} collides with a lineage column {LINEAGE_COLUMNS}")
        if column.lower() in seen:
            raise ConfigError(f"{where}.schema: column {column!r} is declared twice (names are case-insensitive)")
        seen.add(column.lower())
        if not isinstance(sql_type, str) or not SQL_TYPE.match(sql_type.lower()):
            raise ConfigError(f"{where}.schema.{column}: {sql_type!r} is not a Spark SQL type")
        schema[column] = sql_type.lower()
    return schema


def _parse_source(name: str, raw: dict, landing_uri: str, base_dir: Path) -> SourceConfig:
    where = f"sources.{name}"
    validate_identifier(name, f"{where}: source name")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping")
    known = {f.name for f in SourceConfig.__dataclass_fields__.values()} | {"path"}
    unknown = set(raw) - known - {"uri"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    fmt = _require(raw, "format", where)
    if fmt not in FORMATS:
        raise ConfigError(f"{where}.format {fmt!r} must be one of {', '.join(FORMATS)}")
    mode = raw.get("schema_evolution", "addNewColumns")
    if mode not in EVOLUTION_MODES:
        raise ConfigError(f"{where}.schema_evolution {mode!r} must be one of {', '.join(EVOLUTION_MODES)}")
    max_files = raw.get("max_files_per_batch", 1000)
    if not isinstance(max_files, int) or max_files < 1:
        raise ConfigError(f"{where}.max_files_per_batch must be a positive integer")
    csv_raw = raw.get("csv") or {}
    if fmt != "csv" and csv_raw:
        raise ConfigError(f"{where}.csv options only apply to format: csv")
    unknown_csv = set(csv_raw) - set(CsvOptions.__dataclass_fields__)
    if unknown_csv:
        raise ConfigError(f"{where}.csv: unknown option(s) {', '.join(sorted(unknown_csv))}")
    csv = CsvOptions(**csv_raw)
    for option in ("delimiter", "quote", "escape"):
        if len(getattr(csv, option)) != 1:
            raise ConfigError(f"{where}.csv.{option} must be a single character")
    return SourceConfig(
        name=name,
        uri=join_uri(landing_uri, str(_require(raw, "path", where)), base_dir),
        format=fmt,
        table=validate_identifier(raw.get("table", name), f"{where}.table"),
        schema=_parse_schema(raw.get("schema"), where),
        schema_evolution=mode,
        allow_overwrites=bool(raw.get("allow_overwrites", False)),
        max_files_per_batch=max_files,
        infer_column_types=bool(raw.get("infer_column_types", False)),
        csv=csv,
    )


def parse_config(
    raw: dict,
    *,
    landing_uri: str | None = None,
    s3_endpoint: str | None = None,
    base_dir: Path | None = None,
    default_landing: Path | None = None,
) -> Config:
    """Validate a parsed sources file. `landing_uri`/`s3_endpoint` override the file's values; without either
    the landing zone is `default_landing`. Relative local paths are relative to `base_dir` (default: cwd)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), dict) or not raw["sources"]:
        raise ConfigError("the sources file needs a non-empty 'sources' mapping")
    base_dir = base_dir or Path.cwd()
    landing_raw = raw.get("landing") or {}
    location = landing_uri or landing_raw.get("uri") or default_landing
    if not location:
        raise ConfigError("no landing zone: set landing.uri in the sources file or LAKEHOUSE_LANDING_URI")
    uri = to_uri(str(location), base_dir)
    landing = LandingConfig(
        uri=uri,
        s3_endpoint=s3_endpoint or landing_raw.get("s3_endpoint"),
        s3_region=landing_raw.get("s3_region", "us-east-1"),
    )
    sources = {name: _parse_source(name, body, uri, base_dir) for name, body in raw["sources"].items()}
    tables = [source.table for source in sources.values()]
    duplicated = {table for table in tables if tables.count(table) > 1}
    if duplicated:
        raise ConfigError(f"several sources write to the same bronze table: {', '.join(sorted(duplicated))}")
    return Config(landing=landing, sources=sources)


def read_config(path: Path, **settings) -> Config:
    """Read and validate the sources file at `path`; `settings` as for parse_config."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"sources file {path} not found (set LAKEHOUSE_CONFIG to use another one)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    try:
        return parse_config(raw, **settings)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
