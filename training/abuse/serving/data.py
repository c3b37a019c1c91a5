"""Synthetic game-economy behaviour for the abuse scorer (DOMAIN.md, section 5).

Each user plays one day (one feature window) as a normal archetype; a few also abuse the economy
in one of the four ways the domain names. An abuser's intensity scales how much they abuse, their
camouflage how closely they mimic normal play (fewer, less regular, smaller abnormal events on top
of a normal archetype's day). The output is an event log, the input of both the batch features and
the online feature store, and the truth per user.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from training.common.lazy import lazy

pd = lazy("pandas")

ID = "user_id"
LABEL = "abuse"        # the abuse type, or NORMAL
NORMAL = "none"
EVENT_COLUMNS = [ID, "time", "kind", "value", "gain"]
# session: value = minutes played; craft: value = item made, gain = its worth over materials;
# drop / pickup: value = item; sale: value = item, gain = shop price; trade: value = item given,
# gain = value received minus given; reward: gain = dungeon or quest reward; payment: value =
# money paid, gain = currency bought.
KINDS = ("session", "craft", "drop", "pickup", "sale", "trade", "reward", "payment")
ACTIVITIES = ("craft", "drop", "pickup", "sale", "trade", "reward")
ARCHETYPES = ("casual", "grinder", "payer", "trader")
ABUSE_TYPES = ("craft_macro", "duplication", "exchange", "farming")
DAY_SECONDS = 86_400
CURRENCY_PER_MONEY = 100.0
SHOP_PRICE = 0.6      # the shop buys an item at this share of its value
DEFAULT_USERS = 10_000
DEFAULT_ABUSE_RATE = 0.04

# Per archetype: sessions a day (1 + Poisson), median session minutes, activity events per minute
# in ACTIVITIES order, payments a day (Poisson) and the share of the population.
ARCHETYPE_PLAY = {
    "casual": (0.8, 30, (0.05, 0.02, 0.08, 0.05, 0.005, 0.08), 0.03, 0.55),
    "grinder": (2.0, 90, (0.25, 0.03, 0.20, 0.15, 0.010, 0.15), 0.05, 0.20),
    "payer": (1.0, 45, (0.08, 0.02, 0.08, 0.05, 0.020, 0.08), 1.20, 0.15),
    "trader": (1.5, 50, (0.05, 0.02, 0.06, 0.10, 0.150, 0.06), 0.10, 0.10),
}


@dataclass(frozen=True)
class Population:
    events: pd.DataFrame   # EVENT_COLUMNS, sorted by user and time
    users: pd.DataFrame    # ID, archetype, LABEL, intensity, camouflage


class Day:
    """One user's day, built up event by event kind."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        self.sessions: list[tuple[float, float]] = []  # (start second, minutes)

    def add(self, kind: str, times, values, gains) -> None:
        times = np.asarray(times, float)
        self.parts.append((kind, times, np.broadcast_to(np.asarray(values, float), times.shape),
                           np.broadcast_to(np.asarray(gains, float), times.shape)))

    def session(self, minutes: float) -> tuple[float, float]:
        start = self.rng.uniform(0, DAY_SECONDS - minutes * 60)
        self.sessions.append((start, minutes))
        self.add("session", [start], [minutes], [0.0])
        return start, start + minutes * 60

    def random_times(self, per_minute: float) -> np.ndarray:
        """Poisson arrivals in the day's sessions: gaps as irregular as a person's."""
        times = [self.rng.uniform(start, start + minutes * 60, self.rng.poisson(per_minute * minutes))
                 for start, minutes in self.sessions]
        return np.sort(np.concatenate(times)) if times else np.empty(0)

    def regular_times(self, start: float, count: int, period: float, jitter: float) -> np.ndarray:
        """A script's clock: one event every `period` seconds with a relative `jitter`."""
        gaps = period * np.clip(1 + jitter * self.rng.standard_normal(count), 0.05, None)
        return start + np.cumsum(gaps)

    def columns(self) -> list[np.ndarray]:
        """The day's kind, time, value and gain columns in time order (arrays, not a frame: a
        DataFrame per user was most of the generator's time)."""
        kinds = np.concatenate([np.full(len(t), k, dtype=object) for k, t, _, _ in self.parts])
        columns = [kinds, *(np.concatenate([part[i] for part in self.parts]) for i in (1, 2, 3))]
        times = columns[1]
        kept = np.flatnonzero(times < DAY_SECONDS)  # a script's clock may run past midnight: the day's window ends there
        order = kept[np.argsort(times[kept], kind="stable")]
        return [column[order] for column in columns]


def normal_day(day: Day, archetype: str) -> None:
    rng = day.rng
    sessions, minutes, rates, payments, _ = ARCHETYPE_PLAY[archetype]
    for _ in range(1 + rng.poisson(sessions)):
        day.session(min(rng.lognormal(np.log(minutes), 0.5), 600))
    activity, skill = rng.lognormal(0, 0.3), rng.lognormal(0, 0.25)
    for kind, rate in zip(ACTIVITIES, rates):
        times = day.random_times(rate * activity)
        n = len(times)
        if kind == "craft":
            value = rng.lognormal(np.log(40), 0.6, n)
            day.add(kind, times, value, value * rng.normal(0.1, 0.05, n))
        elif kind in ("drop", "pickup"):
            day.add(kind, times, rng.lognormal(np.log(20), 0.8, n), 0.0)
        elif kind == "sale":
            value = rng.lognormal(np.log(30), 0.7, n)
            day.add(kind, times, value, value * SHOP_PRICE)
        elif kind == "trade":
            value = rng.lognormal(np.log(200), 1.0, n)
            day.add(kind, times, value, value * rng.normal(0, 0.08, n))
        else:
            day.add(kind, times, 0.0, rng.lognormal(np.log(25), 0.4, n) * skill)
    paid = rng.lognormal(np.log(10), 0.7, rng.poisson(payments))
    day.add("payment", rng.uniform(0, DAY_SECONDS, len(paid)), paid, paid * CURRENCY_PER_MONEY)


def abuse_day(day: Day, kind: str, intensity: float, camouflage: float) -> None:
    """The abnormal events on top of a normal day: `strength` is how much of them shows."""
    rng = day.rng
    strength = intensity * (1 - 0.75 * camouflage)
    jitter = 0.02 + 0.5 * camouflage  # a camouflaged script randomises its clock
    if kind == "craft_macro":
        minutes = 60 + 540 * strength
        start, _ = day.session(minutes)
        period = rng.uniform(20, 40)
        times = day.regular_times(start, int(minutes * 60 / period), period, jitter)
        value = rng.lognormal(np.log(40), 0.3, len(times))
        day.add("craft", times, value, value * 0.1)
        sold = times[::2] + 1.0
        day.add("sale", sold, value[::2], value[::2] * SHOP_PRICE)
    elif kind == "duplication":
        cycles = max(2, int(40 * strength * rng.uniform(0.5, 1.5)))
        start, end = day.session(rng.uniform(20, 60))
        drops = np.sort(rng.uniform(start, end - 60, cycles))
        value = rng.lognormal(np.log(300 * (0.3 + strength)), 0.5, cycles)
        day.add("drop", drops, value, 0.0)
        for delay in (rng.uniform(2, 20), rng.uniform(20, 40)):  # picked up twice: the copy
            day.add("pickup", drops + delay, value, 0.0)
        day.add("sale", np.repeat(drops + 50, 2), np.repeat(value, 2), np.repeat(value, 2) * SHOP_PRICE)
    elif kind == "exchange":
        start, end = day.session(rng.uniform(20, 60))
        trades = max(1, rng.poisson(2 + 6 * strength))
        value = rng.lognormal(np.log(500), 0.6, trades)
        day.add("trade", rng.uniform(start, end, trades), value, value * rng.uniform(0.3, 0.3 + 2.5 * strength, trades))
    elif kind == "farming":
        start, end = day.session(rng.uniform(60, 240))
        period = rng.uniform(45, 90) / (0.3 + strength)  # one dungeon clear after another
        times = day.regular_times(start, int((end - start) / period), period, jitter)
        day.add("reward", times, 0.0, rng.lognormal(np.log(25), 0.4, len(times)))
    else:
        raise ValueError(f"unknown abuse type {kind!r}")


def spread(rng: np.random.Generator, centre: float, n: int) -> np.ndarray:
    return np.clip(rng.uniform(centre - 0.2, centre + 0.2, n), 0.0, 1.0)


def generate(users: int = DEFAULT_USERS, seed: int = 0, abuse_rate: float = DEFAULT_ABUSE_RATE,
             intensity: float = 0.6, camouflage: float = 0.4) -> Population:
    """`users` users' day; `abuse_rate` of them abuse, the four types in equal shares. Each abuser's
    intensity and camouflage are drawn within 0.2 of the given centres."""
    if users < 1 or not 0 <= abuse_rate <= 1:
        raise ValueError("users must be positive and abuse_rate within 0-1")
    rng = np.random.default_rng(seed)
    shares = np.array([p[-1] for p in ARCHETYPE_PLAY.values()])
    archetypes = rng.choice(ARCHETYPES, size=users, p=shares / shares.sum())
    abusers = rng.random(users) < abuse_rate
    labels = np.where(abusers, rng.choice(ABUSE_TYPES, size=users), NORMAL)
    intensities = np.where(abusers, spread(rng, intensity, users), 0.0)
    camouflages = np.where(abusers, spread(rng, camouflage, users), 0.0)
    ids = [f"u{i:06d}" for i in range(users)]
    days = []
    for archetype, label, level, cover in zip(archetypes, labels, intensities, camouflages):
        day = Day(rng)
        normal_day(day, archetype)
        if label != NORMAL:
            abuse_day(day, label, level, cover)
        days.append(day.columns())
    kinds, times, values, gains = (np.concatenate(column) for column in zip(*days))
    counts = [len(day[0]) for day in days]
    events = pd.DataFrame({ID: np.repeat(np.array(ids, dtype=object), counts), "time": times, "kind": kinds,
                           "value": values, "gain": gains})
    truth = pd.DataFrame({ID: ids, "archetype": archetypes, LABEL: labels, "intensity": intensities, "camouflage": camouflages})
    return Population(events=events, users=truth)
