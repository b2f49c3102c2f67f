"""One rule per convention; each returns a RuleViolation naming what is missing. (No `from __future__ import
annotations`: dbt-score reads the type of each rule's argument to know what it checks.)"""

import re
from collections import Counter

from dbt_score import Model, RuleViolation, Severity, Source, rule

GRAIN = re.compile(r"\bone row per\b", re.IGNORECASE)
PRIMARY_KEY_TESTS = {"primary_key"}
SOURCE = re.compile(r"""\bsource\(\s*['"](\w+)['"]\s*,\s*['"](\w+)['"]\s*\)""")
PINNED_SOURCE = re.compile(r"\bpinned\(\s*" + SOURCE.pattern)


@rule(severity=Severity.HIGH)
def grain_is_stated(model: Model) -> RuleViolation | None:
    """A model's description states its grain: "One row per ..."."""
    if not GRAIN.search(model.description or ""):
        return RuleViolation(message='the description does not state the grain ("One row per ...")')


@rule(severity=Severity.HIGH)
def has_primary_key_test(model: Model) -> RuleViolation | None:
    """A model has a primary-key test: one column both unique and not_null, or primary_key over its key columns."""
    if any(test.type in PRIMARY_KEY_TESTS for test in model.tests):
        return None
    for column in model.columns:
        if {"unique", "not_null"} <= {test.type for test in column.tests}:
            return None
    return RuleViolation(message="no primary-key test (unique + not_null, or primary_key)")


@rule(severity=Severity.HIGH)
def source_only_in_staging(model: Model) -> RuleViolation | None:
    """Only staging models read sources."""
    sources = [node for node in model.depends_on.get("nodes", []) if node.startswith("source.")]
    if sources and not model.original_file_path.startswith("models/staging/"):
        return RuleViolation(message=f"reads {', '.join(sources)} outside models/staging")


@rule(severity=Severity.HIGH)
def marts_have_enforced_contracts(model: Model) -> RuleViolation | None:
    """A gold model (models/marts) has an enforced contract."""
    if model.original_file_path.startswith("models/marts/") and not model.config.get("contract", {}).get("enforced"):
        return RuleViolation(message="a mart without an enforced contract")


@rule(severity=Severity.HIGH)
def source_has_freshness(source: Source) -> RuleViolation | None:
    """A source declares freshness (warn_after or error_after) and the column it is measured on."""
    freshness = source.config.get("freshness") or {}
    declared = any((freshness.get(limit) or {}).get("count") for limit in ("warn_after", "error_after"))
    if not declared or not (source.config.get("loaded_at_field") or source.config.get("loaded_at_query")):
        return RuleViolation(message="no freshness (loaded_at_field and warn_after / error_after)")


@rule(severity=Severity.HIGH)
def incremental_reads_bronze_pinned(model: Model) -> RuleViolation | None:
    """A table or incremental model reads each source through `pinned` (one Delta version for all its statements:
    its expectations, the merge window's bound and the merge agree while ingestion commits)."""
    if model.config.get("materialized") not in ("table", "incremental"):
        return None
    # Counted read by read: a second, unpinned read of a source the model also reads pinned is a read at another
    # version.
    unpinned = Counter(SOURCE.findall(model.raw_code)) - Counter(PINNED_SOURCE.findall(model.raw_code))
    if unpinned:
        names = ", ".join(".".join(source) for source in sorted(unpinned))
        return RuleViolation(message=f"reads {names} without pinned(source(...))")
