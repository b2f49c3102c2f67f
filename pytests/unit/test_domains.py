"""A data domain is configuration and SQL (lakehouse.yml, models/, seeds/, tests/) plus its generator: the ingestion
and runtime code name none of them, so adding a domain never touches them."""

from __future__ import annotations

import re

from generator import DOMAINS
from runtime.project import PROJECT_ROOT, load_config


def domain_words() -> set[str]:
    """Names a domain brings: its own, its sources' and bronze tables', its seeds' and its models'."""
    config = load_config(PROJECT_ROOT / "lakehouse.yml")
    words = {*DOMAINS, *config.sources, *(source.table for source in config.sources.values())}
    words |= {path.stem for path in (PROJECT_ROOT / "seeds").glob("*.csv")}
    words |= {path.stem for path in (PROJECT_ROOT / "models").rglob("*.sql")}
    return words


def test_ingestion_and_runtime_name_no_domain():
    words = domain_words()
    assert {"fitness", "orders", "heart_rate", "customers", "stores", "int_orders"} <= words
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, words))) + r")\b", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {match.group(0)}"
        for package in ("ingestion", "runtime")
        for path in sorted((PROJECT_ROOT / package).rglob("*"))
        if path.is_file() and path.suffix in (".py", ".xml", ".properties", ".lock", ".yml", ".sql")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for match in [pattern.search(line)]
        if match
    ]
    assert offenders == []


def test_every_domain_has_models_of_its_own_in_each_layer():
    for name in DOMAINS:
        for folder in ("staging", "intermediate", "marts"):
            assert list((PROJECT_ROOT / "models" / folder / name).rglob("*.sql")), f"models/{folder}/{name}"
