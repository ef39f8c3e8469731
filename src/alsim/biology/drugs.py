"""Drugs: one-compartment pharmacokinetics and Emax inhibition of named model rates.

Pharmacokinetics are analytic (superposition of first-order absorption and
elimination for each bolus; the zero-order-input solution for drug in diet),
so a schedule of any number of doses costs no solver steps. Drugs live hours
and the disease months, so the slow model states respond to the inhibition
averaged over each day: the engine receives the daily mean of
``Imax C / (C + IC50)`` per target and scales the target parameter by one
minus it (the same time-scale separation that holds cytokines at quasi-steady
state).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np

from .parameters import IDX, read_table

DIET_INTAKE = 0.15  # kg chow per kg body weight per day (adult mouse eats ~4 g/day at ~27 g)
SAMPLES_PER_DAY = 96  # quadrature points for the daily mean inhibition


@dataclass(frozen=True)
class Target:
    """Inhibition of one model parameter: factor 1 - imax C / (C + ic50), C in umol/L of brain."""

    parameter: str
    ic50: float
    imax: float


@dataclass(frozen=True)
class Drug:
    """A compound: mouse PK (one compartment, first-order absorption) and its targets."""

    name: str
    molar_mass: float        # g/mol
    half_life: float         # h
    ka: float                # 1/h
    volume: float            # L/kg
    bioavailability: Mapping[str, float]
    brain_plasma: float
    targets: tuple[Target, ...]

    @property
    def ke(self) -> float:
        """Elimination rate constant [1/h]."""
        return np.log(2.0) / self.half_life


def _load() -> Mapping[str, Drug]:
    rows = read_table("drugs.yaml")
    out = {}
    for name, d in rows.items():
        targets = tuple(Target(t["parameter"], float(t["ic50"]), float(t["imax"])) for t in d["targets"])
        for t in targets:
            if t.parameter not in IDX:
                raise ValueError(f"drugs.yaml: {name} targets unknown parameter {t.parameter!r}")
        out[name] = Drug(name, float(d["molar_mass"]), float(d["half_life"]), float(d["ka"]),
                         float(d["volume"]), dict(d["bioavailability"]), float(d["brain_plasma"]), targets)
    return MappingProxyType(out)


DRUGS: Mapping[str, Drug] = _load()
ROUTES = ("ip", "oral", "diet")


@dataclass(frozen=True)
class Schedule:
    """When and how much: boluses of ``dose`` mg/kg every ``interval`` days (ip or oral gavage),
    or drug mixed in chow at ``ppm`` mg/kg chow (diet), from ``start`` to ``stop`` (days of age)."""

    route: str
    start: float
    stop: float
    dose: float = 0.0
    interval: float = 1.0
    ppm: float = 0.0

    def dose_times(self) -> np.ndarray:
        """Ages [day] of the boluses (empty for diet)."""
        if self.route == "diet":
            return np.empty(0)
        return np.arange(self.start, self.stop - 1e-9, self.interval)


def bateman(ka: float, ke: float, t_h: np.ndarray) -> np.ndarray:
    """(e^{-ke t} - e^{-ka t}) / (ka - ke) for t >= 0 [h], the shape of a bolus's concentration.

    Written as e^{-min(ka,ke) t} (1 - e^{-|ka-ke| t}) / |ka-ke| with ``expm1``, which stays
    exact as ka approaches ke and equals its limit t e^{-k t} at ka = ke (a generic drug with
    ``half_life_h`` = ln 2 has ke = ka = 1/h).
    """
    d = abs(ka - ke)
    decay = np.exp(-min(ka, ke) * t_h)
    if d == 0.0:
        return t_h * decay
    return decay * -np.expm1(-d * t_h) / d


def plasma_concentration(t_days: np.ndarray, drug: Drug, schedule: Schedule) -> np.ndarray:
    """Plasma concentration [mg/L] at ages ``t_days`` (analytic one-compartment solution)."""
    t = np.asarray(t_days, dtype=float)
    ka, ke = drug.ka, drug.ke
    f = drug.bioavailability[schedule.route]
    if schedule.route == "diet":
        rate = f * schedule.ppm * DIET_INTAKE / 24.0  # mg/kg/h absorbed at steady intake

        def infused(tau_h):
            # zero-order input from tau = 0: 1 - (ka e^{-ke tau} - ke e^{-ka tau}) / (ka - ke)
            tau = np.maximum(tau_h, 0.0)
            return rate / (drug.volume * ke) * (1.0 - np.exp(-ke * tau) - ke * bateman(ka, ke, tau))

        return infused((t - schedule.start) * 24.0) - infused((t - schedule.stop) * 24.0)
    c = np.zeros_like(t)
    amount = f * schedule.dose / drug.volume  # mg/L per bolus
    for ti in schedule.dose_times():
        dt = (t - ti) * 24.0
        on = dt > 0
        c[on] += amount * ka * bateman(ka, ke, dt[on])
    return c


def brain_concentration(t_days: np.ndarray, drug: Drug, schedule: Schedule) -> np.ndarray:
    """Brain (and spinal cord) concentration [umol/L] at equilibrium with plasma."""
    return drug.brain_plasma * plasma_concentration(t_days, drug, schedule) / drug.molar_mass * 1000.0


def daily_inhibition(drug: Drug, schedule: Schedule, t_end: float) -> np.ndarray:
    """Daily mean fractional inhibition of each target: shape (days, targets), day k = [k, k+1)."""
    days = int(np.ceil(t_end)) + 1
    t = (np.arange(days * SAMPLES_PER_DAY) + 0.5) / SAMPLES_PER_DAY
    c = brain_concentration(t, drug, schedule).reshape(days, SAMPLES_PER_DAY)
    out = np.empty((days, len(drug.targets)))
    for j, tg in enumerate(drug.targets):
        out[:, j] = (tg.imax * c / (c + tg.ic50)).mean(axis=1)
    return out


def generic_drug(parameter: str, ic50: float, imax: float, half_life: float = 4.0,
                 brain_plasma: float = 1.0, molar_mass: float = 400.0) -> Drug:
    """A hypothetical compound inhibiting one named model rate (Emax model)."""
    if parameter not in IDX:
        raise KeyError(parameter)
    return Drug(f"generic:{parameter}", molar_mass, half_life, 1.0, 1.0,
                {"ip": 1.0, "oral": 0.5, "diet": 0.5}, brain_plasma, (Target(parameter, ic50, imax),))
