"""The CLI passes everything after `build`, `dbt` and `lint` to the tool it wraps, in order."""

from __future__ import annotations

import pytest

from runtime.cli import parse_args


@pytest.mark.parametrize(
    ("argv", "field", "passed"),
    [
        (["build", "--select", "+path:models/*/fitness", "--full-refresh"], "dbt_args",
         ["--select", "+path:models/*/fitness", "--full-refresh"]),
        (["build", "-s", "gym_summary"], "dbt_args", ["-s", "gym_summary"]),
        (["build"], "dbt_args", []),
        (["dbt", "build", "--select", "staging"], "dbt_args", ["build", "--select", "staging"]),
        (["lint", "--rules", "LT01", "models"], "sqlfluff_args", ["--rules", "LT01", "models"]),
    ],
)  # fmt: skip
def test_passthrough_arguments_keep_their_order(argv, field, passed):
    assert getattr(parse_args(argv), field) == passed


def test_build_help_is_ours_and_other_commands_still_refuse_unknown_options(capsys):
    with pytest.raises(SystemExit) as shown:
        parse_args(["build", "--help"])
    assert shown.value.code == 0 and "usage: lakehouse build" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        parse_args(["ingest", "run", "--bogus"])
    assert refused.value.code == 2
