"""This project's dbt conventions (the style guide: a grain and a primary key per model, source() in staging only), as dbt-score rules.

`make lint` runs them on the parsed manifest (`dbt-score lint`, configured in pyproject.toml): any violation fails.
"""
