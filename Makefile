# Two commands matter (README): `make demo` runs the main job, `make test` runs every check.
# Both set themselves up (virtualenv from requirements.lock, pinned jars from Maven Central) and are safe to rerun.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# Dummy values: `dbt parse` for the databricks target never connects.
DATABRICKS_DUMMY := DATABRICKS_HOST=parse-only.invalid DATABRICKS_HTTP_PATH=/sql/1.0/warehouses/parse-only LAKEHOUSE_DEVELOPER=ci \
	DBT_ENV_SECRET_DATABRICKS_TOKEN=parse-only

.PHONY: demo test bench bench-hostile lint parse pytest setup lock clean

demo: setup
	$(BIN)/lakehouse demo

test: setup lint parse pytest

# Not part of `make test`: appends a section to BENCHMARKS.md (SCALE=small is a smoke run of a few minutes).
SCALE ?= reference
bench: setup
	$(BIN)/python bench/run.py --scale $(SCALE)

# Not part of `make test` either: ingestion of a hostile landing folder in every schema-evolution mode.
bench-hostile: setup
	$(BIN)/python bench/hostile.py

setup: $(INSTALLED)
	$(BIN)/lakehouse setup --s3

$(INSTALLED): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 13) else "Python 3.10-3.12 is needed (found " + sys.version.split()[0] + "); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# ruff, sqlfluff, the CI workflow against GitHub's schema (vendored by check-jsonschema: offline), and the dbt
# conventions (dbt-score with dbt_score_rules/) on the parsed manifest.
lint: $(INSTALLED) parse
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lakehouse lint
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/dbt-score lint --manifest target/parse-local/manifest.json

parse: $(INSTALLED)
	$(BIN)/lakehouse dbt parse --target local --target-path target/parse-local
	$(DATABRICKS_DUMMY) $(BIN)/lakehouse dbt parse --target databricks --target-path target/parse-databricks

pytest: $(INSTALLED)
	$(BIN)/pytest

# Maintainers: re-pin every Python package after changing pyproject.toml.
lock:
	rm -rf /tmp/lakehouse-lock && $(PYTHON) -m venv /tmp/lakehouse-lock
	/tmp/lakehouse-lock/bin/pip install --quiet -e '.[dev]'
	(echo "# Every Python package, pinned. Regenerate: make lock"; /tmp/lakehouse-lock/bin/pip freeze --exclude-editable) > requirements.lock

clean:
	rm -rf $(VENV) .lakehouse target logs
