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
    """A mouse line: its parameter edits and the paper that describes it.

    ``floxed`` lines carry a transgene that Cre can excise; ``rate_factor``
    names the parameter that scales this line's nucleation of misfolded SOD1
    (a more stable, dismutase-active mutant such as G37R seeds later);
    ``expression_factor`` names the parameter that scales its mutant SOD1
    expression in every cell type relative to the G93A high-copy line.
    """

    name: str
    description: str
    citation: str
    edits: Mapping[str, float] = field(default_factory=dict)
    floxed: bool = False
    rate_factor: str | None = None
    expression_factor: str | None = None

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
    "LoxSOD1-G37R": Genotype(
        "LoxSOD1-G37R", "human SOD1 G37R flanked by loxP sites, all cell types; removable by Cre",
        "Boillee et al. 2006 Science 312:1389", _G93A, floxed=True, rate_factor="g37r_misfold_factor",
        expression_factor="g37r_expression"),
})


@dataclass(frozen=True)
class CreDriver:
    """A Cre line that excises floxed genes in one cell type."""

    name: str
    cell_type: str
    default_efficiency: float
    citation: str


# Default excision efficiencies are inputs of the experiment, overridable per group.
CRE_DRIVERS: Mapping[str, CreDriver] = MappingProxyType({
    "Isl1-Cre": CreDriver("Isl1-Cre", "motor_neurons", 0.5,
                          "Boillee et al. 2006 Science 312:1389 (motor neurons; partial excision) [M]"),
    "CD11b-Cre": CreDriver("CD11b-Cre", "microglia", 0.5,
                           "Boillee et al. 2006 (about half of mutant SOD1 removed in CD11b+ cells) [M]"),
    "GFAP-Cre": CreDriver("GFAP-Cre", "astrocytes", 0.5,
                          "Yamanaka et al. 2008 Nat Neurosci 11:251 (astrocytes) [M]"),
})

# Genes deleted in every cell: the gene dose each sets to 0, and the study that did it in SOD1 mice.
KNOCKOUTS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "Bax": ("bax_gene_dose", "Gould et al. 2006 J Neurosci 26:8774"),
    "TNF": ("tnf_gene_dose", "Gowing et al. 2006 J Neurosci 26:11397"),
    "NOX2": ("nox2_gene_dose", "Wu et al. 2006 PNAS 103:12132; Marden et al. 2007 J Clin Invest 117:2913"),
    "IL1B": ("il1b_gene_dose", "Meissner et al. 2010 PNAS 107:13046"),
    "IL1A": ("il1a_gene_dose", "Guttenplan et al. 2020 Nat Commun 11:3753"),
    "C1Q": ("c1q_gene_dose", "Lobsiger et al. 2013 PNAS 110:E4385; Guttenplan et al. 2020"),
    "CCL2": ("ccl2_gene_dose", "MCP-1/CCL2 knockout"),
    "IL10": ("il10_gene_dose", "IL-10 knockout"),
})

CELL_EXPRESSION = MappingProxyType({"motor_neurons": "mut_expr_mn", "astrocytes": "mut_expr_ast",
                                    "microglia": "mut_expr_mg"})

# Floxed genes a Cre driver can delete, and the parameter that carries each in each cell type.
# SOD1 is the floxed mutant transgene of a line such as LoxSOD1-G37R; IKBKB (IKKbeta) is needed
# for NF-kB signalling (Frakes et al. 2014 Neuron 81:1009; Crosio et al. 2011 PLoS One 6:e17187).
FLOXED_GENES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "SOD1": CELL_EXPRESSION,
    "IKBKB": MappingProxyType({"microglia": "nfkb_microglia_dose", "astrocytes": "nfkb_astrocyte_dose"}),
})


@dataclass(frozen=True)
class Modifications:
    """Genetic manipulations layered on a line; they compose in the order listed.

    cre: (driver, efficiency, gene) triples: delete the floxed ``gene`` in the driver's cell
        type (SOD1: the mutant transgene of a floxed line; IKBKB: NF-kB signalling).
    knockouts: genes deleted in every cell (``KNOCKOUTS``).
    myeloid_donor: PU.1-/- host whose microglia all derive from marrow of this
        genotype (Beers et al. 2006 PNAS 103:16021).
    chimera: (cell type or "all", fraction, donor genotype): that fraction of the cell type
        (of every cell type) carries the donor's transgene (Clement et al. 2003 Science 302:113).
    """

    cre: tuple[tuple[str, float, str], ...] = ()
    knockouts: tuple[str, ...] = ()
    myeloid_donor: str | None = None
    chimera: tuple[str, float, str] | None = None

    def apply(self, v: np.ndarray, line: Genotype) -> None:
        """Write the manipulations into parameter vector ``v`` (which already holds ``line``'s edits)."""
        for driver, efficiency, gene in self.cre:
            if gene == "SOD1" and not line.floxed:
                raise ValueError(f"{driver} needs a floxed transgene; {line.name} is not floxed")
            v[IDX[FLOXED_GENES[gene][CRE_DRIVERS[driver].cell_type]]] *= 1.0 - efficiency
        for gene in self.knockouts:
            v[IDX[KNOCKOUTS[gene][0]]] = 0.0
        if self.myeloid_donor is not None:
            v[IDX["mut_expr_mg"]] = GENOTYPES[self.myeloid_donor].edits["mut_expr_mg"]
        if self.chimera is not None:
            cell, fraction, donor = self.chimera
            for key in CELL_EXPRESSION.values() if cell == "all" else (CELL_EXPRESSION[cell],):
                v[IDX[key]] = (1.0 - fraction) * v[IDX[key]] + fraction * GENOTYPES[donor].edits[key]


BACKGROUNDS = ("B6SJL", "C57BL/6")
SEXES = ("male", "female")

_BACKGROUND_KEY = {"B6SJL": "b6sjl", "C57BL/6": "b6"}


# Standard normal draws per animal, in this order: misfolding factor, adult weight, righting threshold.
N_RANDOM_EFFECTS = 3


def lognormal_factor(z: float, cv: float) -> float:
    """Median-one lognormal multiplier with coefficient of variation ``cv`` from a standard normal draw."""
    return float(lognormal_factors(np.asarray(z), cv))


def lognormal_factors(z: np.ndarray, cv: float) -> np.ndarray:
    """:func:`lognormal_factor` of every standard normal draw in ``z`` (the same arithmetic, elementwise)."""
    return np.exp(np.sqrt(np.log1p(cv * cv)) * z)


def animal_vector(base: np.ndarray, genotype: str, background: str, sex: str,
                  rng: np.random.Generator | None, overrides: Mapping[str, float] | None = None,
                  modifications: Modifications | None = None, litter_factor: float = 1.0) -> np.ndarray:
    """The parameter vector of one animal: :func:`cohort_vectors` of the ``N_RANDOM_EFFECTS`` standard
    normal draws the animal takes from ``rng`` (misfolding factor, adult weight, righting threshold);
    ``rng=None`` gives the typical animal (no random effects)."""
    z = rng.standard_normal(N_RANDOM_EFFECTS) if rng is not None else np.zeros(N_RANDOM_EFFECTS)
    return cohort_vectors(base, genotype, background, sex, z[None, :], overrides, modifications,
                          np.asarray([litter_factor], dtype=float))[0]


def cohort_vectors(base: np.ndarray, genotype: str, background: str, sex: str, z: np.ndarray,
                   overrides: Mapping[str, float] | None = None, modifications: Modifications | None = None,
                   litter_factor: np.ndarray | float = 1.0) -> np.ndarray:
    """Parameter vectors (one row each) of animals of one line, background and sex.

    Applies the genotype's edits, the background and sex modifiers of the
    misfolding rates (nucleation and growth together: a change in effective
    mutant SOD1 dose) (Beers et al. 2008 PNAS; MGI:4822033), the
    sex/background growth curve (JAX charts), and each animal's own random
    effects from its row of ``z`` (standard normal draws, in this order): a lognormal factor on both
    misfolding rates (CV ``individual_cv_<background>``; transgene copy number and modifier genes
    vary between littermates, Alexander et al. 2004 Mol Brain Res), on
    adult weight (CV ``adult_weight_cv``) and on the righting threshold (CV
    ``righting_threshold_cv``); a row of zeros is the typical animal. The line's
    edits come first, then ``modifications`` (Cre, knockouts, marrow, chimera),
    then ``overrides`` (parameter name -> value), then the line's factor on
    nucleation and the background, sex, individual and ``litter_factor`` (per animal;
    shared by littermates: maternal environment, transgene copy drift) on
    both misfolding rates.
    """
    if genotype not in GENOTYPES:
        raise KeyError(genotype)
    if background not in _BACKGROUND_KEY:
        raise KeyError(background)
    if sex not in SEXES:
        raise KeyError(sex)
    v = np.array(base, dtype=np.float64, copy=True)
    line = GENOTYPES[genotype]
    line.apply(v)
    if modifications is not None:
        modifications.apply(v, line)
    for key, value in (overrides or {}).items():
        v[IDX[key]] = value
    bg = _BACKGROUND_KEY[background]
    factor = v[IDX["b6_misfold_factor"]] if bg == "b6" else 1.0
    if line.expression_factor is not None:  # after manipulations and overrides: a property of the line
        for key in CELL_EXPRESSION.values():
            v[IDX[key]] *= v[IDX[line.expression_factor]]
    if line.rate_factor is not None:
        # a more stable mutant nucleates later; templated growth is the same (Workman 2020)
        v[IDX["misfold_nucleation"]] *= v[IDX[line.rate_factor]]
    if sex == "female":
        factor *= v[IDX[f"female_misfold_factor_{bg}"]]
    z = np.asarray(z, dtype=np.float64).reshape(-1, N_RANDOM_EFFECTS)
    factor = factor * (lognormal_factors(z[:, 0], v[IDX[f"individual_cv_{bg}"]]) * litter_factor)
    out = np.tile(v, (len(z), 1))
    out[:, IDX["misfold_growth"]] *= factor
    out[:, IDX["misfold_nucleation"]] *= factor
    out[:, IDX["adult_weight"]] = (v[IDX[f"adult_weight_{sex}_{bg}"]]
                                   * lognormal_factors(z[:, 1], v[IDX["adult_weight_cv"]]))
    out[:, IDX["righting_threshold"]] *= lognormal_factors(z[:, 2], v[IDX["righting_threshold_cv"]])
    return out
