"""The default parameter set: values with unit, range, basis and source.

The YAML file shipped beside this module is the single source of parameter
values. Its order defines the index of each parameter in the flat ``float64``
array that compiled mechanisms read (``IDX[name]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from importlib import resources
from types import MappingProxyType
from typing import Mapping

import numpy as np
import yaml

_FIELDS = ("name", "value", "unit", "range", "basis", "confidence", "source", "mechanism")


@dataclass(frozen=True)
class Parameter:
    """One model parameter and its provenance."""

    name: str
    value: float
    unit: str
    range: tuple[float, float]
    basis: str  # "sourced" or "calibrated"
    confidence: str  # H, M or L
    source: str
    mechanism: str


def _load() -> tuple[Parameter, ...]:
    text = resources.files("alsim.biology").joinpath("parameters.yaml").read_text()
    rows = yaml.safe_load(text)
    params = []
    for row in rows:
        missing = [f for f in _FIELDS if f not in row]
        if missing:
            raise ValueError(f"parameters.yaml: {row.get('name', row)} lacks {missing}")
        if row["basis"] not in ("sourced", "calibrated"):
            raise ValueError(f"parameters.yaml: {row['name']}: basis must be sourced or calibrated")
        lo, hi = (float(x) for x in row["range"])
        if not lo <= float(row["value"]) <= hi:
            raise ValueError(f"parameters.yaml: {row['name']} = {row['value']} outside its range [{lo}, {hi}]")
        params.append(
            Parameter(
                name=row["name"], value=float(row["value"]), unit=row["unit"], range=(lo, hi),
                basis=row["basis"], confidence=row["confidence"], source=row["source"],
                mechanism=row["mechanism"],
            )
        )
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ValueError("parameters.yaml: duplicate parameter names")
    return tuple(params)


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


def unknown_names(names) -> list[str]:
    """The names in ``names`` that are not model parameters."""
    return [n for n in names if n not in IDX]


def apply_overrides(vector: np.ndarray, overrides: Mapping[str, float]) -> np.ndarray:
    """A copy of ``vector`` with named values replaced.

    Raises ``KeyError`` naming an unknown parameter and ``ValueError`` for a
    negative value (every model parameter is a non-negative quantity).
    """
    out = np.array(vector, dtype=np.float64, copy=True)
    for name, value in overrides.items():
        if name not in IDX:
            raise KeyError(name)
        value = float(value)
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"parameter {name} must be a finite non-negative number, got {value}")
        out[..., IDX[name]] = value
    return out


def calibrated_names() -> list[str]:
    """Names of the parameters fitted to the calibration rows."""
    return [p.name for p in PARAMETERS if p.basis == "calibrated"]
