"""The sources file (lakehouse.yml): parsed, validated, and turned into typed settings.

The whole file is checked before Spark starts, and every problem is reported at once, one line each, naming
its place: `sources.events.schema.time: 'foo' is not a Spark SQL type: unknown type 'foo'`. Types are
strict (`allow_overwrites: 'false'` is a string, not a boolean; `max_files_per_batch: true` is not a number)
and unknown keys are errors at every level. Checks that relate several values (one bronze table per source,
a CSV delimiter other than its quote) run once those values are valid on their own.

Everything that later becomes a SQL identifier (source, table, column and struct field names) is validated
here, at most 128 characters long, so no string from the file reaches SQL or the metastore unchecked. Schema
types are parsed here too, by a small parser of Spark's DDL types, and kept in Spark's canonical lowercase
spelling (`long` -> `bigint`, `dec(5)` -> `decimal(5,0)`), so a type Spark would reject fails here with its
place named rather than as a Java trace.

The keys of a source (README.md, "Sources", documents them for users):
    path                       required: folder under the landing URI, or an absolute URI; not empty, no `..`
    format                     required: json | csv | parquet
    table                      bronze table (default: the source name); not one of ingestion's own tables
    schema                     column -> Spark SQL type; absent: the columns are inferred on the first batch
    schema_evolution           addNewColumns (default) | rescue | failOnNewColumns | none
    allow_overwrites           false; true ingests a file rewritten in place again, as a new version
    max_files_per_batch        1000; files per Delta transaction (at least 1)
    max_new_columns_per_batch  50; in addNewColumns mode, the most columns one batch may add to bronze (0 or
                               more; the others stay in _rescued_data and the run names them): a guard against
                               files whose keys are data (ids, dates), which would widen the table without bound
    infer_column_types         false; true infers the types of an undeclared source's columns instead of strings
    csv                        header, delimiter, quote, escape (format: csv only)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from ingestion.errors import ConfigError

Format = Literal["json", "csv", "parquet"]
EvolutionMode = Literal["addNewColumns", "rescue", "failOnNewColumns", "none"]
FORMATS: tuple[str, ...] = get_args(Format)
EVOLUTION_MODES: tuple[str, ...] = get_args(EvolutionMode)
# Lineage columns ingestion adds to every bronze row; data columns may not use these names.
LINEAGE_COLUMNS = (
    "_source_file",
    "_file_modified_at",
    "_file_size",
    "_ingested_at",
    "_batch_id",
    "_rescued_data",
    "_corrupt_record",
    "_source_row",
)
# Ingestion's own tables, beside the bronze tables in <env>_bronze; no source may write to them.
TRANSFER_LOG = "ingestion_transfer_log"
SCHEMA_HISTORY = "ingestion_schema_history"
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_NAME_LENGTH = 128  # the metastore fails on longer table and column names, with a Java trace


# --- names --------------------------------------------------------------------------------------------------


def _shortened(name: str) -> str:
    return name if len(name) <= MAX_NAME_LENGTH else name[:24] + "..."


def _check_length(value: str, what: str) -> None:
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} '{_shortened(value)}' is {len(value)} characters long; at most {MAX_NAME_LENGTH} fit")


def _identifier(value: str, what: str) -> str:
    _check_length(value, what)
    if not IDENTIFIER.match(value):
        raise ValueError(f"{what} {value!r} is not a valid identifier (lowercase letters, digits, underscores)")
    return value


def _column_name(value: str, what: str = "column name") -> str:
    _check_length(value, what)
    if not COLUMN_NAME.match(value):
        raise ValueError(f"{what} {value!r} must match {COLUMN_NAME.pattern}")
    return value


def validate_identifier(value: str, what: str) -> str:
    """Return `value` if it is a safe lowercase SQL identifier of at most 128 characters, else raise
    ConfigError naming `what`."""
    try:
        return _identifier(value if isinstance(value, str) else repr(value), what)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _table_name(value: str, what: str = "table") -> str:
    _identifier(value, what)
    if value in (TRANSFER_LOG, SCHEMA_HISTORY):
        raise ValueError(f"{what} {value!r} is the name of one of ingestion's own tables; choose another")
    return value


def _source_name(value: str) -> str:
    return _table_name(value, "source name")  # the default table name


def _data_column(value: str) -> str:
    _column_name(value)
    if value.lower() in LINEAGE_COLUMNS:
        raise ValueError(f"column {value!r} collides with a lineage column {LINEAGE_COLUMNS}")
    return value


# --- Spark SQL types ----------------------------------------------------------------------------------------

_SIMPLE_TYPES = {
    "boolean": "boolean",
    "tinyint": "tinyint",
    "byte": "tinyint",
    "smallint": "smallint",
    "short": "smallint",
    "int": "int",
    "integer": "int",
    "bigint": "bigint",
    "long": "bigint",
    "float": "float",
    "real": "float",
    "double": "double",
    "string": "string",
    "binary": "binary",
    "date": "date",
    "timestamp": "timestamp",
    "timestamp_ltz": "timestamp",
    "timestamp_ntz": "timestamp_ntz",
    "variant": "variant",
}
_DECIMALS = ("decimal", "dec", "numeric")
_SIZED_STRINGS = ("char", "varchar")
MAX_DECIMAL_PRECISION = 38
_TYPE_TOKEN = re.compile(r"\s*([a-z_][a-z0-9_]*|[0-9]+|[<>(),:])", re.IGNORECASE)


class _TypeParser:
    """Recursive descent over one Spark SQL DDL type; each method consumes the tokens of what it parses and
    returns its canonical text."""

    def __init__(self, text: str):
        self.tokens: list[str] = []
        text = text.strip()
        position = 0
        while position < len(text):
            match = _TYPE_TOKEN.match(text, position)
            if not match:
                raise ValueError(f"unexpected character {text[position:].lstrip()[0]!r}")
            self.tokens.append(match.group(1).lower())
            position = match.end()
        self.position = 0

    def parse(self) -> str:
        canonical = self.type()
        if self.position < len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.position]!r} after {canonical}")
        return canonical

    def type(self) -> str:
        name = self.take("a type")
        if name in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[name]
        if name in _DECIMALS:
            return self.decimal()
        if name in _SIZED_STRINGS:
            self.expect("(")
            length = self.number(f"the length of {name}")
            self.expect(")")
            if length < 1:
                raise ValueError(f"{name} length must be at least 1")
            return f"{name}({length})"
        if name == "array":
            self.expect("<")
            element = self.type()
            self.expect(">")
            return f"array<{element}>"
        if name == "map":
            self.expect("<")
            key = self.type()
            self.expect(",")
            value = self.type()
            self.expect(">")
            return f"map<{key},{value}>"
        if name == "struct":
            return self.struct()
        if not re.match(r"[a-z_]", name):
            raise ValueError(f"expected a type, found {name!r}")
        raise ValueError(f"unknown type {name!r}")

    def decimal(self) -> str:
        precision, scale = 10, 0  # Spark's decimal without arguments
        if self.peek() == "(":
            self.expect("(")
            precision = self.number("the decimal precision")
            if self.peek() == ",":
                self.expect(",")
                scale = self.number("the decimal scale")
            self.expect(")")
        if not 1 <= precision <= MAX_DECIMAL_PRECISION:
            raise ValueError(f"decimal precision must be 1 to {MAX_DECIMAL_PRECISION}, not {precision}")
        if not 0 <= scale <= precision:
            raise ValueError(f"decimal scale must be 0 to the precision ({precision}), not {scale}")
        return f"decimal({precision},{scale})"

    def struct(self) -> str:
        self.expect("<")
        if self.peek() == ">":
            raise ValueError("a struct needs at least one field")
        fields: dict[str, str] = {}
        while True:
            name = _column_name(self.take("a field name"), "struct field name")
            if name in fields:
                raise ValueError(f"struct field {name!r} is declared twice")
            if self.peek() == ":":  # Spark also accepts `name type`
                self.expect(":")
            fields[name] = self.type()
            separator = self.take("',' or '>'")
            if separator == ">":
                break
            if separator != ",":
                raise ValueError(f"expected ',' or '>', found {separator!r}")
        return "struct<" + ",".join(f"{name}:{kind}" for name, kind in fields.items()) + ">"

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str) -> str:
        token = self.peek()
        if token is None:
            raise ValueError(f"ends where {expected} was expected")
        self.position += 1
        return token

    def expect(self, symbol: str) -> None:
        token = self.take(repr(symbol))
        if token != symbol:
            raise ValueError(f"expected {symbol!r}, found {token!r}")

    def number(self, what: str) -> int:
        token = self.take(what)
        if not token.isdigit():
            raise ValueError(f"expected {what}, found {token!r}")
        return int(token)


def spark_sql_type(text: str) -> str:
    """The canonical lowercase text of the Spark SQL DDL type `text` (`Long` -> `bigint`, `struct<A int>` ->
    `struct<a:int>`); ValueError says why it is not one. Parsed here, without Spark."""
    try:
        return _TypeParser(text).parse()
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a Spark SQL type: {exc}") from None


# --- the file, as written -----------------------------------------------------------------------------------


def _single_character(value: str) -> str:
    if len(value) != 1 or value in "\r\n":
        raise ValueError(f"must be a single character other than a line break, not {value!r}")
    return value


def _landing_path(value: str) -> str:
    segments = value.split("/")
    if all(not segment.strip() for segment in segments):
        raise ValueError(f"{value!r} names no folder: the source would ingest the whole landing zone")
    if ".." in segments:
        raise ValueError(f"{value!r} goes up with '..'; name the folder from the landing zone down")
    return value


def _distinct_columns(schema: dict[str, str]) -> dict[str, str]:
    if not schema:
        raise ValueError("must map at least one column name to its Spark SQL type")
    seen: set[str] = set()
    for column in schema:
        if column.lower() in seen:
            raise ValueError(f"column {column!r} is declared twice (names are case-insensitive)")
        seen.add(column.lower())
    return schema


SourceName = Annotated[str, AfterValidator(_source_name)]
TableName = Annotated[str, AfterValidator(_table_name)]
DataColumn = Annotated[str, AfterValidator(_data_column)]
SparkSqlType = Annotated[str, AfterValidator(spark_sql_type)]
Character = Annotated[str, AfterValidator(_single_character)]
LandingPath = Annotated[str, AfterValidator(_landing_path)]
Schema = Annotated[dict[DataColumn, SparkSqlType], AfterValidator(_distinct_columns)]


class _Strict(BaseModel):
    """A mapping of the sources file: exact types (the string 'false' is not a boolean), no unknown keys."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class CsvOptions(_Strict):
    """The CSV dialect of a source (`csv:` of a format: csv source)."""

    header: bool = True
    delimiter: Character = ","
    quote: Character = '"'
    escape: Character = '"'  # RFC 4180: a quote inside a quoted field is doubled

    @model_validator(mode="after")
    def _delimiter_is_not_the_quote(self) -> CsvOptions:
        if self.delimiter == self.quote:
            raise ValueError(f"delimiter and quote are both {self.delimiter!r}")
        return self


class _Source(_Strict):
    """One entry of `sources:`."""

    path: LandingPath
    format: Format
    table: TableName | None = None
    columns: Schema | None = Field(default=None, alias="schema")
    schema_evolution: EvolutionMode = "addNewColumns"
    allow_overwrites: bool = False
    max_files_per_batch: Annotated[int, Field(ge=1)] = 1000
    max_new_columns_per_batch: Annotated[int, Field(ge=0)] = 50
    infer_column_types: bool = False
    csv: CsvOptions | None = None

    @model_validator(mode="after")
    def _csv_options_need_csv(self) -> _Source:
        if self.csv is not None and self.format != "csv":
            raise ValueError("csv options only apply to format: csv")
        return self


class _Landing(_Strict):
    uri: str | None = None
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"


def _some_sources(sources: dict[str, _Source]) -> dict[str, _Source]:
    if not sources:
        raise ValueError("declares no source")
    return sources


class _SourcesFile(_Strict):
    landing: _Landing | None = None  # `landing:` with nothing under it keeps the defaults
    sources: Annotated[dict[SourceName, _Source], AfterValidator(_some_sources)]


def _where(place: list[str]) -> str:
    return ".".join(place) or "the sources file"


def _problem(error: ErrorDetails) -> str:
    """One line naming the place of a validation error in the file and what is wrong there."""
    # "[key]" marks an error about a mapping's key itself; a key too long to be a name is shortened
    place = [_shortened(str(part)) for part in error["loc"] if part != "[key]"]
    kind, value = error["type"], error["input"]
    if kind == "missing":
        *parent, key = place
        return f"{_where(parent)}: missing required key {key!r}"
    if kind == "extra_forbidden":
        return f"{_where(place)}: unknown key"
    if kind == "value_error":
        message = str(error["ctx"]["error"])
    elif kind in ("model_type", "dict_type"):
        message = f"must be a mapping, not {value!r}"
    elif kind == "literal_error":
        message = f"{value!r} must be one of {error['ctx']['expected']}"
    else:  # pydantic's own words: "Input should be a valid boolean"
        message = f"{error['msg'][0].lower()}{error['msg'][1:]}, not {value!r}"
    return f"{_where(place)}: {message}"


# --- the settings -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceConfig:
    """One source, resolved: where its files are, how to read them, and the bronze table they go to.
    The defaults are the sources file's (a unit test keeps them equal)."""

    name: str
    uri: str  # absolute location of the source's files
    format: str
    table: str
    schema: dict[str, str] | None = None  # column -> canonical Spark SQL type; None: inferred on the first run
    schema_evolution: str = "addNewColumns"
    allow_overwrites: bool = False
    max_files_per_batch: int = 1000
    max_new_columns_per_batch: int = 50
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


_URI_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def to_uri(location: str, base_dir: Path) -> str:
    """A URI Spark and Hadoop understand: URIs pass through, local paths (relative to `base_dir`) become
    absolute file: URIs."""
    if _URI_SCHEME.match(location):
        return location.replace("s3://", "s3a://", 1) if location.startswith("s3://") else location
    if location.startswith("/Volumes/"):
        return location
    path = Path(location)
    return (path if path.is_absolute() else base_dir / path).resolve().as_uri()


def join_uri(base: str, relative: str, base_dir: Path) -> str:
    """`relative` under the URI `base`; an absolute path or URI stands on its own (see to_uri)."""
    if _URI_SCHEME.match(relative) or relative.startswith("/"):
        return to_uri(relative, base_dir)
    return base.rstrip("/") + "/" + relative.strip("/")


def _source_config(name: str, entry: _Source, landing_uri: str, base_dir: Path) -> SourceConfig:
    return SourceConfig(
        name=name,
        uri=join_uri(landing_uri, entry.path, base_dir),
        format=entry.format,
        table=entry.table or name,
        schema=dict(entry.columns) if entry.columns is not None else None,
        schema_evolution=entry.schema_evolution,
        allow_overwrites=entry.allow_overwrites,
        max_files_per_batch=entry.max_files_per_batch,
        max_new_columns_per_batch=entry.max_new_columns_per_batch,
        infer_column_types=entry.infer_column_types,
        csv=entry.csv or CsvOptions(),
    )


def _shared_tables(sources: dict[str, SourceConfig]) -> list[str]:
    writers: dict[str, list[str]] = {}
    for source in sources.values():
        writers.setdefault(source.table, []).append(source.name)
    return [
        f"sources: {', '.join(names)} write to the same bronze table {table!r} (table defaults to the source name)"
        for table, names in writers.items()
        if len(names) > 1
    ]


def parse_config(
    raw: dict,
    *,
    landing_uri: str | None = None,
    s3_endpoint: str | None = None,
    base_dir: Path | None = None,
    default_landing: Path | None = None,
) -> Config:
    """Validate a parsed sources file; ConfigError lists every problem, one line each. `landing_uri` and
    `s3_endpoint` override the file's values; without either the landing zone is `default_landing`. Relative
    local paths are relative to `base_dir` (default: cwd)."""
    if not isinstance(raw, dict):
        raise ConfigError("the sources file needs a non-empty 'sources' mapping")
    try:
        file = _SourcesFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(_problem(error) for error in exc.errors())) from None
    landing = file.landing or _Landing()
    location = landing_uri or landing.uri or default_landing
    if not location:
        raise ConfigError("landing.uri: no landing zone: set it in the sources file or set LAKEHOUSE_LANDING_URI")
    base_dir = base_dir or Path.cwd()
    uri = to_uri(str(location), base_dir)
    sources = {name: _source_config(name, entry, uri, base_dir) for name, entry in file.sources.items()}
    problems = _shared_tables(sources)
    if problems:
        raise ConfigError("\n".join(problems))
    return Config(
        landing=LandingConfig(uri=uri, s3_endpoint=s3_endpoint or landing.s3_endpoint, s3_region=landing.s3_region),
        sources=sources,
    )


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
        problems = str(exc).splitlines()
        heading = f"{path}: " if len(problems) == 1 else f"{path}: {len(problems)} problems\n"
        raise ConfigError(heading + "\n".join(problems)) from None
