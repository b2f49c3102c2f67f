"""The fitness-data generator: deterministic, coherent, and dirty at exactly the rates its manifest claims."""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from generator import Batch, DirtRates, generate, local_writer, parse_manifest_name
from generator.activity import plan_day
from generator.clock import day_start
from generator.dirt import dirt_count
from generator.gyms import load_gyms
from generator.world import simulate

DAYS = range(3)
SEED = 7
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class Capture:
    """A writer that keeps every write in order (the registry path is written once a day)."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, bytes]] = []

    def __call__(self, path: str, data: bytes) -> None:
        self.writes.append((path, data))

    def batches(self) -> list[dict[str, bytes]]:
        """The writes of each batch (of each day, with one batch a day), up to and including its manifest (last)."""
        batches, current = [], {}
        for path, data in self.writes:
            current[path] = data
            if path.startswith("_manifest/"):
                batches.append(current)
                current = {}
        assert not current, "files written after the last manifest"
        return batches


@pytest.fixture(scope="module")
def run():
    capture = Capture()
    manifest = generate(capture, days=DAYS, seed=SEED)
    return capture, manifest


@pytest.fixture(scope="module")
def days(run):
    return run[0].batches()


def text_lines(path: str, data: bytes) -> list[str]:
    text = gzip.decompress(data) if path.endswith(".gz") else data
    return [line for line in text.decode().split("\n") if line.strip()]


def parse_json(lines: list[str]) -> tuple[list[dict], int]:
    rows, malformed = [], 0
    for line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            malformed += 1
    return rows, malformed


def parse_csv(lines: list[str]) -> tuple[list[dict], int]:
    header, *body = list(csv.reader(io.StringIO("\n".join(lines))))
    good = [dict(zip(header, row, strict=True)) for row in body if len(row) == len(header)]
    return good, len(body) - len(good)


def parse(path: str, data: bytes) -> tuple[list[dict], int]:
    lines = text_lines(path, data)
    return parse_csv(lines) if path.endswith(".csv") else parse_json(lines)


def files_of(day: dict[str, bytes], source: str) -> dict[str, bytes]:
    return {path: data for path, data in sorted(day.items()) if path.startswith(f"{source}/")}


def rows_of(day: dict[str, bytes], source: str) -> list[dict]:
    return [row for path, data in files_of(day, source).items() for row in parse(path, data)[0]]


def epoch(timestamp: str) -> int:
    return int(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def entries(manifest, source: str, day: int) -> list:
    return [entry for entry in manifest.days[day].files if entry.source == source]


def day_dirt(manifest, source: str, day: int) -> dict[str, int]:
    return manifest.days[day].sources()[source]["dirt"]


# Determinism


def test_same_seed_writes_identical_bytes(run):
    again = Capture()
    generate(again, days=DAYS, seed=SEED)
    assert again.writes == run[0].writes


def test_a_day_is_the_same_whether_generated_alone_or_with_others(run):
    one_by_one = Capture()
    for day in DAYS:
        generate(one_by_one, days=range(day, day + 1), seed=SEED)
    assert one_by_one.writes == run[0].writes


def test_different_seeds_give_different_data(days):
    other = Capture()
    generate(other, days=range(1), seed=SEED + 1)
    for path, data in other.batches()[0].items():
        assert data != days[0][path], path


# The manifest


def test_layout_is_one_folder_per_source_and_day(days):
    assert sorted(days[1]) == [
        "_manifest/day=2026-01-06.json",
        "device_registry/registry.csv",
        "gym_logins/day=2026-01-06/gym_logins.csv",
        "heart_rate/day=2026-01-06/heart_rate-000.json",
        "heart_rate/day=2026-01-06/heart_rate-001.json",
        "user_profile_cdc/day=2026-01-06/user_profile_cdc.json",
        "workouts/day=2026-01-06/workouts.json.gz",
    ]


@pytest.mark.parametrize("generated", ["run", "hourly"])
def test_manifest_reconciles_with_the_files_written(request, generated):
    capture, manifest = request.getfixturevalue(generated)
    batches_per_day = len(manifest.batches) // len(DAYS)
    for number, (written, day_manifest) in enumerate(zip(capture.batches(), manifest.batches, strict=True)):
        assert day_manifest.batch == Batch(number // batches_per_day, number % batches_per_day, batches_per_day)
        assert written[day_manifest.path] == day_manifest.to_json()
        assert {entry.path for entry in day_manifest.files} == set(written) - {day_manifest.path}
        for entry in day_manifest.files:
            data = written[entry.path]
            lines = text_lines(entry.path, data)
            assert entry.bytes == len(data)
            assert entry.records == len(lines) - (1 if entry.path.endswith(".csv") else 0), entry.path
            assert entry.malformed == parse(entry.path, data)[1], entry.path
        totals = json.loads(written[day_manifest.path])["totals"]
        assert totals["records"] == sum(entry.records for entry in day_manifest.files)
        assert totals["bytes"] == sum(len(data) for path, data in written.items() if path != day_manifest.path)
    assert manifest.totals()["files"] == sum(len(day.files) for day in manifest.days)


def test_every_json_file_and_gym_logins_has_a_few_malformed_lines(run):
    _, manifest = run
    for entry in manifest.files():
        if entry.source == "device_registry":
            assert entry.malformed == 0
        else:
            assert entry.malformed >= DirtRates().malformed_min, entry.path


# Dirt, recomputed from the files


def test_heart_rate_dirt_matches_the_rates_and_the_manifest(run, days):
    _, manifest = run
    rates = DirtRates()
    for day, written in enumerate(days):
        by_key: dict[tuple, list[str]] = defaultdict(list)
        out_of_range = 0
        for path, data in files_of(written, "heart_rate").items():
            for line in text_lines(path, data):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                by_key[row["device_id"], row["time"]].append(line)
                out_of_range += not 25 <= row["heartrate"] <= 240
                assert ("signal_quality" in row) == (day >= 2)
                assert 0 <= row.get("signal_quality", 0) <= 1
        readings = len(by_key)
        duplicates = sum(len(lines) - len(set(lines)) for lines in by_key.values())
        resent = sum(len(set(lines)) - 1 for lines in by_key.values())
        dirt = day_dirt(manifest, "heart_rate", day)
        assert duplicates == dirt["duplicates"] == dirt_count(rates.duplicate, readings)
        assert resent == dirt["resent"] == dirt_count(rates.resent, readings)
        assert out_of_range == dirt["out_of_range"] == dirt_count(rates.out_of_range, readings)
        valid_lines = sum(len(lines) for lines in by_key.values())
        assert dirt["schema_drift"] == (valid_lines if day >= 2 else 0)


def test_profile_changes_arrive_out_of_order_and_late(run, days):
    _, manifest = run
    for day, written in enumerate(days):
        (entry,) = entries(manifest, "user_profile_cdc", day)
        rows = rows_of(written, "user_profile_cdc")
        latest: dict[int, str] = {}
        out_of_order = 0
        for row in rows:
            out_of_order += latest.get(row["user_id"], row["updated_at"]) > row["updated_at"]
            latest[row["user_id"]] = max(latest.get(row["user_id"], row["updated_at"]), row["updated_at"])
        late = sum(epoch(row["updated_at"]) < day_start(day) for row in rows)
        assert entry.dirt == {"out_of_order": out_of_order, "late_events": late}
        assert out_of_order >= 1
        assert late >= (1 if day else 0)
        assert Counter(row["update_type"] for row in rows) == {
            kind: entry.events[kind] for kind in ("new", "update", "delete") if entry.events[kind]
        }
        assert all(set(row["address"]) == {"street", "city", "state", "zip"} for row in rows)
        assert {row["sex"] for row in rows} <= {"M", "F"}


def test_workout_sessions_break_and_stops_arrive_late(run, days):
    _, manifest = run
    events: dict[int, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for day, written in enumerate(days):
        rows = rows_of(written, "workouts")
        for row in rows:
            events[row["session_id"]][row["action"]].append((epoch(row["timestamp"]), day))
        (entry,) = entries(manifest, "workouts", day)
        stops = [row for row in rows if row["action"] == "stop"]
        started_before = {
            session for session, actions in events.items() if any(when < day_start(day) for when, _ in actions["start"])
        }
        assert entry.dirt["late_stops"] == sum(row["session_id"] in started_before for row in stops)
        assert entry.dirt["delayed_stops"] == sum(epoch(row["timestamp"]) < day_start(day) for row in stops)
    assert all(len(actions["start"]) <= 1 and len(actions["stop"]) <= 1 for actions in events.values())
    dirt = manifest.totals("workouts")["dirt"]
    reversed_sessions = sum(
        actions["stop"][0][0] < actions["start"][0][0]
        for actions in events.values()
        if actions["start"] and actions["stop"]
    )
    assert reversed_sessions == dirt["stop_before_start"] >= len(DAYS)
    assert sum(not actions["start"] for actions in events.values()) == dirt["stop_without_start"] >= len(DAYS)
    pending = entries(manifest, "workouts", DAYS[-1])[0].events["sessions_left_open"]
    assert sum(not actions["stop"] for actions in events.values()) == dirt["start_without_stop"] + pending
    assert dirt["start_without_stop"] >= len(DAYS)
    assert dirt["late_stops"] > dirt["delayed_stops"] > 0


def test_gym_visits_end_before_they_begin_and_some_cross_local_midnight(run, days):
    _, manifest = run
    zones = {str(gym.gym_id): ZoneInfo(gym.timezone) for gym in load_gyms()}
    for day, written in enumerate(days):
        rows = rows_of(written, "gym_logins")
        (entry,) = entries(manifest, "gym_logins", day)
        bad = [row for row in rows if epoch(row["logout"]) <= epoch(row["login"])]
        assert entry.dirt == {"bad_visits": len(bad)} and bad
        local_dates = [
            [datetime.fromtimestamp(epoch(row[key]), zones[row["gym_id"]]).date() for key in ("login", "logout")]
            for row in rows
        ]
        assert entry.events["visits_across_local_midnight"] == sum(login < logout for login, logout in local_dates)
    assert manifest.totals("gym_logins")["events"]["visits_across_local_midnight"] > 0


def test_rates_are_configurable():
    rates = DirtRates(duplicate=0.1, resent=0.02, out_of_range=0.03, bad_visit=0.2, malformed=0.01, malformed_min=0)
    capture = Capture()
    manifest = generate(capture, days=range(1), seed=SEED, rates=rates)
    readings = len({(row["device_id"], row["time"]) for row in rows_of(capture.batches()[0], "heart_rate")})
    dirt = day_dirt(manifest, "heart_rate", 0)
    assert dirt["duplicates"] == dirt_count(0.1, readings)
    assert dirt["resent"] == dirt_count(0.02, readings)
    assert dirt["out_of_range"] == dirt_count(0.03, readings)
    (logins,) = entries(manifest, "gym_logins", 0)
    assert logins.dirt["bad_visits"] == dirt_count(0.2, logins.events["visits"])
    for entry in manifest.files("heart_rate"):
        assert entry.malformed == dirt_count(0.01, entry.records - entry.malformed)


def test_clean_rates_write_clean_files():
    capture = Capture()
    manifest = generate(capture, days=range(2), seed=SEED, rates=DirtRates.clean())
    for entry in manifest.files():
        assert entry.malformed == 0
        assert not any(entry.dirt[kind] for kind in entry.dirt if kind not in ("late_stops", "schema_drift"))


# Volume


def test_scale_scales_volume():
    sizes = {}
    for scale in (0.5, 2.0):
        manifest = generate(lambda path, data: None, days=range(1), seed=SEED, scale=scale)
        sizes[scale] = manifest.totals("heart_rate")["bytes"], manifest.totals("device_registry")["records"]
    assert 3.2 < sizes[2.0][0] / sizes[0.5][0] < 4.8
    assert sizes[2.0][1] / sizes[0.5][1] == pytest.approx(4, rel=0.05)


def test_small_scale_is_small(run):
    _, manifest = run
    for day in manifest.days:
        assert 1_000_000 < day.sources()["heart_rate"]["bytes"] < 10_000_000
        assert 200 <= day.sources()["device_registry"]["records"] <= 300


# A coherent world


def test_registry_evolves_with_reassignments_deletions_and_new_devices(run, days):
    _, manifest = run
    registries = [{int(row["device_id"]): row for row in rows_of(day, "device_registry")} for day in days]
    macs: dict[int, str] = {}
    for registry in registries:
        assert len({row["mac_address"] for row in registry.values()}) == len(registry)
        for device_id, row in registry.items():
            assert (
                MAC.match(row["mac_address"]) and macs.setdefault(device_id, row["mac_address"]) == row["mac_address"]
            )
            assert ISO_Z.match(row["registered_at"]) and row["registered_at"] <= row["updated_at"]
    for day in DAYS[1:]:
        before, after = registries[day - 1], registries[day]
        changes = entries(manifest, "device_registry", day)[0].events
        reassigned = [d for d in before.keys() & after.keys() if before[d]["user_id"] != after[d]["user_id"]]
        assert len(reassigned) == changes["reassigned_devices"] >= 1
        assert all(after[d]["updated_at"] > before[d]["updated_at"] for d in reassigned)
        assert len(after.keys() - before.keys()) == changes["new_devices"] >= 1
        gone_users = {row["user_id"] for row in before.values()} - {row["user_id"] for row in after.values()}
        assert len(gone_users) == changes["removed_devices"] >= 1
        deletes = {
            str(row["user_id"]) for row in rows_of(days[day], "user_profile_cdc") if row["update_type"] == "delete"
        }
        assert gone_users == deletes


def test_workouts_carry_heart_rate_and_happen_during_gym_visits(days):
    # ISO-8601 UTC strings of one format sort like the instants they name.
    for written in days:
        registry = {int(row["user_id"]): row for row in rows_of(written, "device_registry")}
        readings = defaultdict(list)
        for row in rows_of(written, "heart_rate"):
            readings[row["device_id"]].append(row["time"])
        visits = defaultdict(list)
        for row in rows_of(written, "gym_logins"):
            visits[row["mac_address"]].append((row["login"], row["logout"]))
            assert int(row["gym_id"]) in {gym.gym_id for gym in load_gyms()}
        assert set(visits) <= {row["mac_address"] for row in registry.values()}
        sessions = defaultdict(dict)
        for row in rows_of(written, "workouts"):
            sessions[row["session_id"]][row["action"]] = (row["user_id"], row["timestamp"])
        whole = [
            (session["start"][0], session["start"][1], session["stop"][1])
            for session in sessions.values()
            if session.keys() == {"start", "stop"} and session["start"][1] < session["stop"][1]
        ]
        assert len(whole) > 50
        during_visit = 0
        for user_id, start, stop in whole:
            device = registry[user_id]
            times = sorted(readings[int(device["device_id"])])
            assert bisect.bisect_right(times, stop) > bisect.bisect_left(times, start)
            during_visit += any(login <= start <= logout for login, logout in visits[device["mac_address"]])
        assert during_visit > len(whole) / 2


def test_timestamps_are_iso_utc_whole_seconds(days):
    fields = {
        "device_registry": ("registered_at", "updated_at"),
        "user_profile_cdc": ("updated_at",),
        "heart_rate": ("time",),
        "workouts": ("timestamp",),
        "gym_logins": ("login", "logout"),
    }
    for source, names in fields.items():
        for row in rows_of(days[2], source):
            assert all(ISO_Z.match(row[name]) for name in names), row


# Inputs


def test_gyms_come_from_the_seed_file(tmp_path):
    seed = tmp_path / "gyms.csv"
    seed.write_text(
        "gym_id,name,city,state,timezone\n41,Waikiki,Honolulu,HI,Pacific/Honolulu\n42,Loop,Chicago,IL,America/Chicago\n"
    )
    capture = Capture()
    generate(capture, days=range(1), seed=SEED, gyms_csv=seed)
    assert {row["gym_id"] for row in rows_of(capture.batches()[0], "gym_logins")} == {"41", "42"}
    seed.write_text("gym_id,name,city,state,timezone\n1,Nowhere,Atlantis,XX,Atlantis/Central\n")
    with pytest.raises(ValueError, match="not an IANA timezone"):
        generate(capture, days=range(1), gyms_csv=seed)


def test_project_gym_seed_spans_several_timezones():
    assert len({gym.timezone for gym in load_gyms()}) >= 4


def test_local_writer_writes_files_under_the_root(tmp_path):
    manifest = generate(local_writer(tmp_path), days=range(1), seed=SEED, scale=0.1)
    for entry in manifest.files():
        assert (tmp_path / entry.path).stat().st_size == entry.bytes
    assert (tmp_path / manifest.days[0].path).is_file()
    assert not list(tmp_path.rglob(".*.tmp"))


@pytest.mark.parametrize(
    "arguments",
    [
        {"days": range(-1, 1)},
        {"days": range(2, 0, -1)},
        {"days": range(1), "scale": 0},
        {"days": range(1), "seed": -1},
        {"days": range(1), "batches_per_day": 5},
        {"days": range(1), "batches_per_day": 48},
        {"days": range(1), "batches_per_day": 24.0},
        {"days": range(1), "batches_per_day": 24, "batches": range(20, 25)},
        {"days": range(1), "batches_per_day": 24, "batches": range(3, 1, -1)},
        {"days": range(1), "batches": range(1, 2)},
    ],
)
def test_bad_arguments_are_refused(arguments):
    with pytest.raises(ValueError):
        generate(lambda path, data: None, **arguments)


# Sub-day batches

HOURLY = 24
# Per-file counts that do not add up over a day's batches: states at the end of a batch, and out-of-order events,
# which a batch counts in arrival order across the day's batches and a whole day in its file's order.
NOT_ADDITIVE = {"out_of_order", "starts_due_next_day", "stops_due_next_day", "sessions_left_open"}
EVENT_TIME = {"heart_rate": "time", "workouts": "timestamp", "user_profile_cdc": "updated_at", "gym_logins": "login"}


@pytest.fixture(scope="module")
def hourly():
    capture = Capture()
    manifest = generate(capture, days=DAYS, seed=SEED, batches_per_day=HOURLY)
    return capture, manifest


def valid_lines(path: str, data: bytes) -> list[str]:
    """The lines of a file that parse (CSV: data rows with the header's field count)."""
    lines = text_lines(path, data)
    if path.endswith(".csv"):
        width = len(next(csv.reader([lines[0]])))
        return [line for line in lines[1:] if len(next(csv.reader([line]))) == width]
    return [line for line in lines if parse_json([line])[1] == 0]


def good_lines(written: dict[str, bytes], source: str) -> Counter[str]:
    """The lines that parse in the files of `source` among `written`, counted."""
    return Counter(line for path, data in files_of(written, source).items() for line in valid_lines(path, data))


def test_hourly_batches_are_the_same_whether_generated_alone_or_together(hourly):
    apart = Capture()
    generate(apart, days=range(0, 1), seed=SEED, batches_per_day=HOURLY, batches=range(0, 9))
    generate(apart, days=range(0, 1), seed=SEED, batches_per_day=HOURLY, batches=range(9, 24))
    for batch in range(HOURLY):
        generate(apart, days=range(1, 2), seed=SEED, batches_per_day=HOURLY, batches=range(batch, batch + 1))
    generate(apart, days=range(2, 3), seed=SEED, batches_per_day=HOURLY)
    assert apart.writes == hourly[0].writes


def test_hourly_batches_partition_the_days_records(run, days, hourly):
    batches, manifest = hourly[0].batches(), hourly[1]
    for day, whole in enumerate(days):
        of_day = [(written, m) for written, m in zip(batches, manifest.batches, strict=True) if m.day == day]
        assert [m.batch.index for _, m in of_day] == list(range(HOURLY))
        for source in EVENT_TIME:
            assert sum((good_lines(written, source) for written, _ in of_day), Counter()) == good_lines(whole, source)
            day_counts = run[1].days[day].sources()[source]
            batch_counts = [m.sources()[source] for _, m in of_day]
            for kind in ("dirt", "events"):
                for name, count in day_counts[kind].items():
                    if name not in NOT_ADDITIVE:
                        assert sum(counts[kind][name] for counts in batch_counts) == count, (source, name)
            good = day_counts["records"] - day_counts["malformed"]
            assert sum(counts["records"] - counts["malformed"] for counts in batch_counts) == good
        last = of_day[-1][1].sources()["workouts"]["events"]
        day_events = run[1].days[day].sources()["workouts"]["events"]
        assert last["starts_due_later"] == day_events["starts_due_next_day"]
        assert last["stops_due_later"] == day_events["stops_due_next_day"]


@pytest.mark.parametrize("batches_per_day", [2, 4])
def test_any_batch_size_cuts_the_same_arrivals(hourly, batches_per_day):
    """Batch k of a coarser size holds the same records as the hourly batches it spans."""
    capture = Capture()
    generate(capture, days=range(1), seed=SEED, batches_per_day=batches_per_day)
    hours = 24 // batches_per_day
    hourly_batches = hourly[0].batches()[:HOURLY]
    for index, written in enumerate(capture.batches()):
        first = index * hours
        assert f"_manifest/day=2026-01-05/hours={first:02d}-{first + hours:02d}.json" in written
        assert f"workouts/day=2026-01-05/workouts-h{first:02d}.json.gz" in written
        for source in EVENT_TIME:
            spanned = sum((good_lines(batch, source) for batch in hourly_batches[first : first + hours]), Counter())
            assert good_lines(written, source) == spanned, (index, source)


def test_the_registry_extract_is_rewritten_once_a_day_with_the_last_batch(days, hourly):
    capture, manifest = hourly
    registry_writes = [data for path, data in capture.writes if path == "device_registry/registry.csv"]
    assert registry_writes == [whole["device_registry/registry.csv"] for whole in days]
    for written, batch in zip(capture.batches(), manifest.batches, strict=True):
        assert batch.registry_extract == batch.batch.is_last == ("device_registry/registry.csv" in written)
        assert json.loads(written[batch.path])["registry_extract"] == batch.registry_extract


def test_late_data_crosses_batch_boundaries_as_the_manifest_counts(hourly):
    """Every sub-day file counts the records that happened before its batch began; each source has some."""
    capture, manifest = hourly
    crossing: Counter[str] = Counter()
    latest: dict[int, tuple[str, int]] = {}  # user_id -> latest updated_at so far in the day, and its batch
    for written, batch in zip(capture.batches(), manifest.batches, strict=True):
        begins, day_begins, index = batch.batch.start, day_start(batch.day), batch.batch.index
        latest = {} if index == 0 else latest
        for entry in batch.files:
            if entry.source == "device_registry":
                continue
            rows = parse(entry.path, written[entry.path])[0]
            earlier = [row for row in rows if epoch(row[EVENT_TIME[entry.source]]) < begins]
            assert entry.events["from_earlier_batches"] == len(earlier), entry.path
            crossing[entry.source] += len(earlier)
            if entry.source == "workouts":
                hour_late = [
                    row for row in earlier if row["action"] == "stop" and epoch(row["timestamp"]) >= day_begins
                ]
                assert entry.dirt["hour_late_stops"] == len(hour_late) == len(earlier) - entry.dirt["delayed_stops"]
            if entry.source == "user_profile_cdc":
                out_of_order = 0
                for row in rows:
                    before = latest.get(row["user_id"], (row["updated_at"], index))
                    out_of_order += before[0] > row["updated_at"]
                    crossing["cdc_out_of_order_across_batches"] += before[0] > row["updated_at"] and before[1] < index
                    latest[row["user_id"]] = max(before, (row["updated_at"], index))
                assert entry.dirt["out_of_order"] == out_of_order, entry.path
    assert all(crossing[source] > 0 for source in (*EVENT_TIME, "cdc_out_of_order_across_batches")), crossing
    totals = manifest.totals()
    assert totals["dirt"]["hour_late_stops"] > 0 and totals["dirt"]["delayed_stops"] > 0
    assert totals["dirt"]["out_of_order"] > 0


def test_resent_readings_arrive_in_a_later_batch_than_the_original(hourly):
    capture, manifest = hourly
    rates = DirtRates()
    for day in DAYS:
        seen: dict[tuple, list[tuple[int, float]]] = defaultdict(list)
        for written, batch in zip(capture.batches(), manifest.batches, strict=True):
            if batch.day == day:
                for row in rows_of(written, "heart_rate"):
                    seen[row["device_id"], row["time"]].append((batch.batch.index, row["heartrate"]))
        copies = sum(len(lines) - 1 for lines in seen.values())
        late = sum(batch_of_line > lines[0][0] for lines in seen.values() for batch_of_line, _ in lines[1:])
        resent_later = [
            lines for lines in seen.values() if any(b > lines[0][0] and value != lines[0][1] for b, value in lines[1:])
        ]
        assert late == dirt_count(rates.late_copy_hour, copies) > 0
        assert resent_later
        assert all(b - lines[0][0] <= 1 for lines in seen.values() for b, _ in lines)


def test_hour_late_stops_follow_their_rate(hourly):
    gyms = load_gyms()
    world = simulate(SEED, 1.0, gyms, DAYS[-1])
    for day in DAYS:
        sessions = len(plan_day(world[day], gyms, SEED).sessions)
        hour_late = sum(m.sources()["workouts"]["dirt"]["hour_late_stops"] for m in hourly[1].batches if m.day == day)
        assert hour_late == dirt_count(DirtRates().late_stop_hour, sessions)


def test_without_dirt_only_gym_visits_cross_batches():
    manifest = generate(
        lambda path, data: None, days=range(2), seed=SEED, batches_per_day=HOURLY, rates=DirtRates.clean()
    )
    crossing = manifest.totals()["events"]["from_earlier_batches"]
    assert crossing == manifest.totals("gym_logins")["events"]["from_earlier_batches"] > 0


def test_paths_sort_by_arrival(hourly):
    capture, manifest = hourly
    for source in (*EVENT_TIME, "_manifest"):
        paths = [path for path, _ in capture.writes if path.startswith(f"{source}/")]
        assert paths == sorted(paths) and len(paths) >= len(DAYS) * HOURLY, source
    for written, batch in zip(capture.batches(), manifest.batches, strict=True):
        label = f"-h{batch.batch.index:02d}"
        assert all(label in path for path in written if path.split("/")[0] in EVENT_TIME), sorted(written)
        assert (
            batch.path == f"_manifest/day={batch.date}/hours={batch.batch.index:02d}-{batch.batch.index + 1:02d}.json"
        )
    assert "heart_rate/day=2026-01-06/heart_rate-h07-000.json" in dict(capture.writes)
    assert "workouts/day=2026-01-06/workouts-h07.json.gz" in dict(capture.writes)


def test_manifest_names_parse_back_to_their_batch(run, hourly):
    for batch in (*run[1].batches, *hourly[1].batches):
        assert parse_manifest_name(batch.path) == batch.batch
    assert parse_manifest_name("s3a://bucket/landing/_manifest/day=2026-01-07/hours=06-12.json") == Batch(2, 1, 4)
    assert parse_manifest_name("day=2026-01-05/hours=00-24.json") == Batch(0, 0, 1)
    for name in (
        "heart_rate/day=2026-01-05/heart_rate-000.json",
        "_manifest/day=2026-01-05/hours=05-07.json",
        "_manifest/day=2026-01-05/hours=00-05.json",
        "_manifest/day=2026-01-05/hours=08-07.json",
        "_manifest/day=2025-12-31.json",
        "_manifest/day=2026-13-01.json",
        "_manifest/day=2026-01-05.json.tmp",
        "heart_rate/day=2026-01-05.json",
    ):
        assert parse_manifest_name(name) is None, name
    assert sorted([Batch(1, 0, 24), Batch(0, 23, 24), Batch(0, 2, 24)]) == [
        Batch(0, 2, 24),
        Batch(0, 23, 24),
        Batch(1, 0, 24),
    ]


def test_one_batch_a_day_manifests_keep_their_shape(run, hourly):
    whole, sub_day = json.loads(run[1].days[0].to_json()), json.loads(hourly[1].batches[0].to_json())
    assert "late_copy_hour" not in whole["rates"] and "batch" not in whole
    assert sub_day["rates"] == DirtRates().to_dict()
    assert (sub_day["batch"], sub_day["batches_per_day"], sub_day["arrivals_from"]) == (0, 24, "2026-01-05T00:00:00Z")
