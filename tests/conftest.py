"""Shared fixtures: compiled-code warm-up and the calibration runs (simulated once per session)."""

from __future__ import annotations

import numpy as np
import pytest

from alsim.biology import genotypes as gt
from alsim.biology import parameters as prm
from alsim.engines.meanfield import solve_cohort


@pytest.fixture(scope="session", autouse=True)
def warm_numba():
    """Compile (or load from cache) the engine once before any timed or property test."""
    P = np.array([gt.animal_vector(prm.default_vector(), "SOD1-G93A", "B6SJL", "male", None)] * 2)
    solve_cohort(P, np.array([0.0, 200.0]))


@pytest.fixture(scope="session")
def calibration_rows():
    """All T1/T2 rows at the size `alsim validate` uses by default."""
    from alsim.experiments.validation import validate

    return {r.id: r for r in validate(n_transgenic=400, claims=False)}


def typical(genotype="SOD1-G93A", background="B6SJL", sex="male", **overrides):
    """The parameter vector of the typical animal (no random effects)."""
    return gt.animal_vector(prm.default_vector(), genotype, background, sex, None, overrides)
