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

from generator import DirtRates, generate, local_writer
from generator.clock import day_start
from generator.dirt import dirt_count
from generator.gyms import load_gyms

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

    def days(self) -> list[dict[str, bytes]]:
        """The writes of each day, up to and including its manifest (which comes last)."""
        days, current = [], {}
        for path, data in self.writes:
            current[path] = data
            if path.startswith("_manifest/"):
                days.append(current)
                current = {}
        assert not current, "files written after the last manifest"
        return days


@pytest.fixture(scope="module")
def run():
    capture = Capture()
    manifest = generate(capture, days=DAYS, seed=SEED)
    return capture, manifest


@pytest.fixture(scope="module")
def days(run):
    return run[0].days()


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
    for path, data in other.days()[0].items():
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


def test_manifest_reconciles_with_the_files_written(run, days):
    _, manifest = run
    for day, (written, day_manifest) in enumerate(zip(days, manifest.days, strict=True)):
        assert day_manifest.day == day
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
    readings = len({(row["device_id"], row["time"]) for row in rows_of(capture.days()[0], "heart_rate")})
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
    assert {row["gym_id"] for row in rows_of(capture.days()[0], "gym_logins")} == {"41", "42"}
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
    [{"days": range(-1, 1)}, {"days": range(2, 0, -1)}, {"days": range(1), "scale": 0}, {"days": range(1), "seed": -1}],
)
def test_bad_arguments_are_refused(arguments):
    with pytest.raises(ValueError):
        generate(lambda path, data: None, **arguments)
