from datetime import datetime, timedelta, timezone

from ingestion.discovery import FileInfo, batches, escape_glob, plan_files, select_files
from ingestion.tables import BatchCommit

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


def test_a_failed_file_is_tried_again_until_it_commits():
    broken = _file("gz", size=99)
    # the same version failed before: tried again (a failure is never settled silently)
    assert plan_files([broken], {broken.uri: {(99, T0): "failed"}}, allow_overwrites=False).new == [broken]
    # a fixed upload of a file that only ever failed is new, not a rewrite
    assert plan_files([broken], {broken.uri: {(50, T0): "failed"}}, allow_overwrites=False).new == [broken]
    # once committed, it is done; a reported rewrite is not reported again
    assert plan_files([broken], {broken.uri: {(99, T0): "committed"}}, allow_overwrites=False).to_ingest == []
    ignored = {broken.uri: {(50, T0): "committed", (99, T0): "rewrite_ignored"}}
    plan = plan_files([broken], ignored, allow_overwrites=False)
    assert plan.to_ingest == [] and plan.ignored_rewrites == []


def test_batches_are_oldest_first_and_bounded():
    files = [_file(str(i), minutes=10 - i) for i in range(5)]
    assert [[f.uri[-1] for f in batch] for batch in batches(files, 2)] == [["4", "3"], ["2", "1"], ["0"]]


def test_a_batch_commit_names_its_files_in_the_commit_metadata():
    a, b = _file("a b%.json", size=7, minutes=3), _file("c.json")
    commit = BatchCommit("events", 12, "run1", "ingest", T0, [a, b], {"file:/l/bad": "cause"})
    assert BatchCommit.from_json(commit.to_json()) == commit
    assert BatchCommit.from_json(None) is None and BatchCommit.from_json('{"other": 1}') is None


def test_replay_selection():
    files = [_file("day=1/a.json", minutes=0), _file("day=2/b.json", minutes=60), _file("day=2/c.csv", minutes=120)]
    assert [f.uri for f in select_files(files, names=["b.json"])] == ["file:/l/day=2/b.json"]
    assert len(select_files(files, glob="*/day=2/*")) == 2
    assert [f.uri for f in select_files(files, since=T0 + timedelta(minutes=30), until=T0 + timedelta(minutes=90))] == [
        "file:/l/day=2/b.json"
    ]


def test_glob_characters_in_names_are_escaped():
    assert escape_glob("file:/l/a[1]*.json") == r"file:/l/a\[1\]\*.json"
