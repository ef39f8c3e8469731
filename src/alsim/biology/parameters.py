"""The default parameter set: values with unit, range, domain, basis and source.

The YAML file shipped beside this module is the single source of parameter
values. Its order defines the index of each parameter in the flat ``float64``
array that compiled mechanisms read (``IDX[name]``).

Each parameter has a plausible ``range`` (what calibration respects) and a
``domain`` (the values the model is defined for). Overrides may leave the
range but never the domain; parameters the model computes itself
(``derived``) cannot be overridden at all (:func:`override_error`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import IntEnum
from importlib import resources
from types import MappingProxyType
from typing import Mapping

import numpy as np
import yaml

from .._text import did_you_mean, shown

_FIELDS = ("name", "value", "unit", "range", "domain", "basis", "confidence", "source", "mechanism")
_INTERVAL = re.compile(r"^([\[(])\s*([^,\s]+)\s*,\s*([^,\s]+)\s*([\])])$")


@dataclass(frozen=True)
class Domain:
    """An interval of allowed values, written as in mathematics: ``[0, inf)``, ``(0, 20]``."""

    low: float
    high: float
    low_open: bool
    high_open: bool

    @classmethod
    def parse(cls, text: str) -> "Domain":
        """The interval written in ``text``; ``ValueError`` if it is not one."""
        m = _INTERVAL.match(str(text))
        if m is None:
            raise ValueError(f"domain {text!r} is not an interval such as '[0, inf)'")
        low, high = float(m.group(2)), float(m.group(3))
        if not low <= high:
            raise ValueError(f"domain {text!r} is empty")
        return cls(low, high, m.group(1) == "(", m.group(4) == ")")

    def __contains__(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return bool(math.isfinite(x) and above and below)

    def __str__(self) -> str:
        return (f"{'(' if self.low_open else '['}{self.low:g}, "
                f"{self.high:g}{')' if self.high_open else ']'}")


@dataclass(frozen=True)
class Parameter:
    """One model parameter and its provenance."""

    name: str
    value: float
    unit: str
    range: tuple[float, float]
    domain: Domain
    basis: str  # "sourced" or "calibrated"
    confidence: str  # H, M or L
    source: str
    mechanism: str
    derived: str | None = None  # what the model computes it from; None for an input


def _parameter(row: dict) -> Parameter:
    """One checked entry of parameters.yaml."""
    missing = [f for f in _FIELDS if f not in row]
    if missing:
        raise ValueError(f"parameters.yaml: {row.get('name', row)} lacks {missing}")
    name = row["name"]
    if row["basis"] not in ("sourced", "calibrated"):
        raise ValueError(f"parameters.yaml: {name}: basis must be sourced or calibrated")
    lo, hi = (float(x) for x in row["range"])
    value = float(row["value"])
    if not lo <= value <= hi:
        raise ValueError(f"parameters.yaml: {name} = {value} outside its range [{lo}, {hi}]")
    try:
        domain = Domain.parse(row["domain"])
    except ValueError as err:
        raise ValueError(f"parameters.yaml: {name}: {err}") from None
    if not (value in domain and lo in domain and hi in domain):
        raise ValueError(f"parameters.yaml: {name}: value {value} or range [{lo}, {hi}] outside domain {domain}")
    return Parameter(name=name, value=value, unit=row["unit"], range=(lo, hi), domain=domain,
                     basis=row["basis"], confidence=row["confidence"], source=row["source"],
                     mechanism=row["mechanism"], derived=row.get("derived"))


def read_table(name: str):
    """A YAML data file of this package, parsed by libyaml where PyYAML has it (the same data as
    ``yaml.safe_load``, ten times faster: parameters.yaml is read on every start)."""
    text = resources.files("alsim.biology").joinpath(name).read_text()
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def _load() -> tuple[Parameter, ...]:
    params = tuple(_parameter(row) for row in read_table("parameters.yaml"))
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ValueError("parameters.yaml: duplicate parameter names")
    return params


PARAMETERS: tuple[Parameter, ...] = _load()
NAMES: tuple[str, ...] = tuple(p.name for p in PARAMETERS)
IDX: Mapping[str, int] = MappingProxyType({n: i for i, n in enumerate(NAMES)})
BY_NAME: Mapping[str, Parameter] = MappingProxyType({p.name: p for p in PARAMETERS})
N_PARAMS = len(NAMES)
# Index of each parameter by name, for compiled code: ``p[Param.hill_n]`` (Numba folds it to a constant).
Param = IntEnum("Param", {n: i for i, n in enumerate(NAMES)}, module=__name__, qualname="Param")


def default_vector() -> np.ndarray:
    """The default parameter values as a fresh flat float64 array."""
    return np.array([p.value for p in PARAMETERS], dtype=np.float64)


def unknown_parameter(name: object) -> str:
    """The message for a name that is not a model parameter, with the closest one if any."""
    return f"unknown parameter {shown(name)}{did_you_mean(name, NAMES)} (see `alsim params`)"


def override_error(name: object, value: object) -> str | None:
    """Why ``name = value`` cannot override a parameter (unknown, derived, non-finite, outside
    the domain), or None when it can."""
    if name not in IDX:
        return unknown_parameter(name)
    p = BY_NAME[name]
    if p.derived is not None:
        return f"parameter {name!r} is computed by the model from {p.derived}; override those instead"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"parameter {name!r} must be a number, got {shown(value)}"
    if not math.isfinite(value):
        return f"parameter {name!r} must be a finite number, got {value}"
    if float(value) not in p.domain:
        return f"parameter {name!r} must lie in {p.domain}, got {value}"
    return None


def apply_overrides(vector: np.ndarray, overrides: Mapping[str, float]) -> np.ndarray:
    """A copy of ``vector`` with named values replaced.

    Raises ``KeyError`` naming an unknown parameter and ``ValueError`` for any
    other value :func:`override_error` refuses.
    """
    out = np.array(vector, dtype=np.float64, copy=True)
    for name, value in overrides.items():
        if name not in IDX:
            raise KeyError(name)
        problem = override_error(name, value)
        if problem is not None:
            raise ValueError(problem)
        out[..., IDX[name]] = float(value)
    return out


def calibrated_names() -> list[str]:
    """Names of the parameters fitted to the calibration rows."""
    return [p.name for p in PARAMETERS if p.basis == "calibrated"]
