"""Who the members are: names, birth dates and addresses, and how a profile changes over time."""

from __future__ import annotations

import datetime as dt
import random
import zlib
from dataclasses import dataclass, replace

from generator.gyms import Gym

FIRST_NAMES = {
    "F": (
        "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail",
        "Emily", "Ella", "Grace", "Chloe", "Camila", "Aria", "Luna", "Zoe", "Nora", "Leilani",
        "Maya", "Priya", "Mei", "Fatima", "Sofia",
    ),
    "M": (
        "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry", "Theodore",
        "Jack", "Levi", "Alexander", "Mateo", "Daniel", "Michael", "Mason", "Ethan", "Kai", "Diego",
        "Arjun", "Wei", "Omar", "Malik", "Keanu",
    ),
}  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Nguyen", "Kim", "Patel", "Chen", "O'Brien", "Kealoha", "Novak", "Schmidt", "Rossi", "Okafor",
)  # fmt: skip
STREETS = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Sunset", "Lincoln", "Jefferson", "Highland", "Riverside", "Walnut", "Willow", "Spruce", "Chestnut", "Madison",
)  # fmt: skip
STREET_TYPES = ("St", "Ave", "Blvd", "Rd", "Ln", "Dr", "Ct", "Way", "Pl", "Ter")
OLDEST_BIRTH = dt.date(1950, 1, 1)
YOUNGEST_BIRTH = dt.date(2006, 12, 31)


@dataclass(frozen=True)
class Profile:
    dob: str
    sex: str
    first_name: str
    last_name: str
    street: str
    city: str
    state: str
    zip: str


def new_profile(rng: random.Random, gym: Gym) -> Profile:
    """A new member living near `gym`."""
    sex = rng.choice(("F", "M"))
    dob = OLDEST_BIRTH + dt.timedelta(days=rng.randrange((YOUNGEST_BIRTH - OLDEST_BIRTH).days))
    return Profile(
        dob=dob.isoformat(),
        sex=sex,
        first_name=rng.choice(FIRST_NAMES[sex]),
        last_name=rng.choice(LAST_NAMES),
        **_address(rng, gym),
    )


def changed_profile(rng: random.Random, profile: Profile, gym: Gym) -> Profile:
    """The profile after one update: mostly a move, sometimes a new last name or a corrected first name."""
    change = rng.random()
    if change < 0.6:
        return replace(profile, **_address(rng, gym))
    if change < 0.85:
        return replace(profile, last_name=rng.choice([name for name in LAST_NAMES if name != profile.last_name]))
    names = [name for name in FIRST_NAMES[profile.sex] if name != profile.first_name]
    return replace(profile, first_name=rng.choice(names))


def _address(rng: random.Random, gym: Gym) -> dict[str, str]:
    # Members live near their gym; zips of a city share a stable base so they look local.
    zip_base = 10_000 + zlib.crc32(gym.city.encode()) % 89_000
    return {
        "street": f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}",
        "city": gym.city,
        "state": gym.state,
        "zip": f"{zip_base + rng.randint(0, 60):05d}",
    }
