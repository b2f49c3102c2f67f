"""This project's dbt conventions as dbt-score rules (conventions.py): a stated grain and a primary-key test per
model, source() in staging only, enforced contracts on marts, freshness on sources.

`make lint` runs them on the parsed manifest (`dbt-score lint`, configured in pyproject.toml): any violation fails.
"""
