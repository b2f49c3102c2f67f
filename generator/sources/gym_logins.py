"""gym_logins: CSV of gym visits by device MAC; a few end before they begin, a couple of rows lack or add a field."""

from __future__ import annotations

from generator.clock import day_label, iso
from generator.dirt import dirt_count, python_rng
from generator.files import RenderedFile, text_file, with_malformed
from generator.sources.inputs import DayInputs

SOURCE = "gym_logins"
HEADER = "mac_address,gym_id,login,logout"


def render(inputs: DayInputs) -> list[RenderedFile]:
    """The visits that began today (UTC), by login time."""
    rng = python_rng(inputs.seed, f"{SOURCE}.dirt", inputs.day)
    gyms = {gym.gym_id: gym for gym in inputs.gyms}
    visits = sorted(inputs.activity.visits, key=lambda visit: (visit.login, visit.mac_address))
    bad = set(rng.sample(range(len(visits)), dirt_count(inputs.rates.bad_visit, len(visits))))
    rows = []
    crossing_midnight = 0
    for index, visit in enumerate(visits):
        logout = visit.login - rng.randint(0, 1800) if index in bad else visit.logout
        rows.append(f"{visit.mac_address},{visit.gym_id},{iso(visit.login)},{iso(logout)}")
        gym = gyms[visit.gym_id]
        crossing_midnight += index not in bad and gym.local_date(visit.login) != gym.local_date(logout)
    rows, malformed = with_malformed(rows, rng, inputs.rates, csv=True)
    return [
        RenderedFile(
            SOURCE,
            f"{SOURCE}/day={day_label(inputs.day)}/{SOURCE}.csv",
            text_file(rows, header=HEADER),
            records=len(rows),
            malformed=malformed,
            dirt={"bad_visits": len(bad)},
            events={"visits": len(visits), "visits_across_local_midnight": crossing_midnight},
        )
    ]
