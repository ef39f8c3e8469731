"""Genotypes, genetic backgrounds and sex: what each does to an animal's parameters.

A genotype is a set of edits to the flat parameter vector: mutant SOD1
expression per cell type (``mut_expr_*``), gene doses (``bax_gene_dose``, ...)
and line-specific rate factors. Edits compose, so Cre drivers, knockouts and
chimeras can be added as further edits on top of a transgenic line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

from .parameters import IDX


@dataclass(frozen=True)
class Genotype:
    """A mouse line: its parameter edits and the paper that describes it."""

    name: str
    description: str
    citation: str
    edits: Mapping[str, float] = field(default_factory=dict)

    def apply(self, vector: np.ndarray) -> None:
        """Write this genotype's edits into ``vector`` in place."""
        for key, value in self.edits.items():
            vector[IDX[key]] = value


_NO_MUTANT = {"mut_expr_mn": 0.0, "mut_expr_ast": 0.0, "mut_expr_mg": 0.0}
_G93A = {"mut_expr_mn": 1.0, "mut_expr_ast": 1.0, "mut_expr_mg": 1.0}

GENOTYPES: Mapping[str, Genotype] = MappingProxyType({
    "WT": Genotype("WT", "non-transgenic littermate", "-", _NO_MUTANT),
    "SOD1-G93A": Genotype(
        "SOD1-G93A", "human SOD1 G93A, high copy (~25 copies), all cell types",
        "Gurney et al. 1994 Science 264:1772; Acevedo-Arozena et al. 2011 Dis Model Mech", _G93A),
})

BACKGROUNDS = ("B6SJL", "C57BL/6")
SEXES = ("male", "female")

_BACKGROUND_KEY = {"B6SJL": "b6sjl", "C57BL/6": "b6"}


def lognormal_factor(z: float, cv: float) -> float:
    """Median-one lognormal multiplier with coefficient of variation ``cv`` from a standard normal draw."""
    return float(np.exp(np.sqrt(np.log1p(cv * cv)) * z))


def animal_vector(base: np.ndarray, genotype: str, background: str, sex: str,
                  rng: np.random.Generator | None, overrides: Mapping[str, float] | None = None) -> np.ndarray:
    """The parameter vector of one animal.

    Applies the genotype's edits, the background and sex modifiers of the
    misfolding rates (nucleation and growth together: a change in effective
    mutant SOD1 dose) (Wooley et al. 2005 Muscle Nerve; MGI:4822033), the
    sex/background growth curve (JAX charts), and the animal's own random
    effects: a lognormal factor on both misfolding rates (CV ``individual_cv_<background>``;
    transgene copy number and modifier genes vary between littermates,
    Alexander et al. 2004 Mol Brain Res) and on
    adult weight (CV ``adult_weight_cv``). Draw order from ``rng`` is fixed;
    ``rng=None`` gives the typical animal (no random effects). ``overrides``
    (parameter name -> value) are applied after the genotype's edits and
    before the background, sex and individual factors.
    """
    if genotype not in GENOTYPES:
        raise KeyError(genotype)
    if background not in _BACKGROUND_KEY:
        raise KeyError(background)
    if sex not in SEXES:
        raise KeyError(sex)
    v = np.array(base, dtype=np.float64, copy=True)
    GENOTYPES[genotype].apply(v)
    for key, value in (overrides or {}).items():
        v[IDX[key]] = value
    bg = _BACKGROUND_KEY[background]
    factor = v[IDX["b6_misfold_factor"]] if bg == "b6" else 1.0
    if sex == "female":
        factor *= v[IDX[f"female_misfold_factor_{bg}"]]
    z_misfold, z_weight = rng.standard_normal(2) if rng is not None else (0.0, 0.0)
    factor *= lognormal_factor(z_misfold, v[IDX[f"individual_cv_{bg}"]])
    v[IDX["misfold_growth"]] *= factor
    v[IDX["misfold_nucleation"]] *= factor
    v[IDX["adult_weight"]] = (v[IDX[f"adult_weight_{sex}_{bg}"]]
                              * lognormal_factor(z_weight, v[IDX["adult_weight_cv"]]))
    return v
