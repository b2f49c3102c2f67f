from datetime import datetime, timedelta, timezone

from ingestion.discovery import FileInfo, batches, escape_glob, plan_files, select_files
from ingestion.tables import LogEvent, TransferLog

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)


def _file(name: str, size: int = 10, minutes: int = 0) -> FileInfo:
    return FileInfo(T0 + timedelta(minutes=minutes), f"file:/l/{name}", size, f"file:/l/{name}")


def test_plan_splits_new_rewritten_and_ignored():
    a, b, c = _file("a"), _file("b"), _file("c")
    seen = {a.uri: {(10, T0): "committed"}, b.uri: {(5, T0): "committed"}}
    plan = plan_files([a, b, c], seen, allow_overwrites=False)
    assert (plan.new, plan.rewritten, plan.ignored_rewrites) == ([c], [], [b])
    plan = plan_files([a, b, c], seen, allow_overwrites=True)
    assert plan.to_ingest == [b, c]


def test_a_file_that_only_ever_failed_is_new_again_when_replaced():
    fixed = _file("gz", size=99)
    assert plan_files([fixed], {fixed.uri: {(50, T0): "failed"}}, allow_overwrites=False).new == [fixed]
    assert plan_files([fixed], {fixed.uri: {(99, T0): "failed"}}, allow_overwrites=False).to_ingest == []


def test_batches_are_oldest_first_and_bounded():
    files = [_file(str(i), minutes=10 - i) for i in range(5)]
    assert [[f.uri[-1] for f in batch] for batch in batches(files, 2)] == [["4", "3"], ["2", "1"], ["0"]]


def test_pending_batches_are_claims_without_an_outcome():
    a, b = _file("a"), _file("b")
    events = [
        LogEvent(a, 1, "ingest", "started"),
        LogEvent(a, 1, "ingest", "committed"),
        LogEvent(b, 2, "ingest", "started"),
        LogEvent(a, 3, "replay", "started"),
    ]
    assert TransferLog.pending(events) == {2: ("ingest", [b]), 3: ("replay", [a])}
    assert TransferLog.next_batch_id(events) == 4
    assert TransferLog.seen(events)[a.uri] == {(10, T0): "committed"}


def test_replay_selection():
    files = [_file("day=1/a.json", minutes=0), _file("day=2/b.json", minutes=60), _file("day=2/c.csv", minutes=120)]
    assert [f.uri for f in select_files(files, names=["b.json"])] == ["file:/l/day=2/b.json"]
    assert len(select_files(files, glob="*/day=2/*")) == 2
    assert [f.uri for f in select_files(files, since=T0 + timedelta(minutes=30), until=T0 + timedelta(minutes=90))] == [
        "file:/l/day=2/b.json"
    ]


def test_glob_characters_in_names_are_escaped():
    assert escape_glob("file:/l/a[1]*.json") == r"file:/l/a\[1\]\*.json"
