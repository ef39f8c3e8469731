"""Protocols: an experiment as a lab would write it, validated once on load.

A protocol names groups (genotype, background, sex mix, n, parameter
overrides), how long to follow them, what to read out and the seed. Loading
is strict: unknown keys, wrong types, negative n, unknown genotypes or
parameter names, non-finite numbers, names that are not one safe folder name,
claim criteria on readouts that no run produces, and runs beyond the limits
of :mod:`alsim.experiments.limits` raise :class:`ProtocolError` with one line
naming the field and the offending value (shortened to a few dozen characters).
"""

from __future__ import annotations

import re
import unicodedata
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator, model_validator

from .._text import did_you_mean, shown
from ..analysis.readouts import READOUT_COLUMNS, WELL_READOUT_COLUMNS
from ..biology.drugs import DRUGS, ROUTES, Drug, Schedule, generic_drug
from ..biology.genotypes import CRE_DRIVERS, FLOXED_GENES, GENOTYPES, KNOCKOUTS, Modifications
from ..biology import parameters as prm
from ..biology.parameters import IDX, override_error, unknown_parameter
from .yaml_input import InputError, parse_yaml, read_bytes
from . import limits

READOUTS = ("survival", "onset", "weight", "motor", "mn_counts", "innervation", "gliosis", "cytokines")
# Columns of the per-animal (per-well) table a claim criterion may name as `readout` or `minus`.
CRITERION_COLUMNS = {"animal": (*READOUT_COLUMNS, "non_als_death_d"), "culture": WELL_READOUT_COLUMNS}
NAME_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._ -]{{0,{limits.MAX_NAME_CHARS - 1}}}")


class ProtocolError(ValueError):
    """A protocol that cannot be run; the message names the field and value."""


def _check_overrides(overrides: Mapping[str, float]) -> Mapping[str, float]:
    """Checked overrides, read-only (a validated protocol cannot change afterwards)."""
    for name, value in overrides.items():
        problem = override_error(name, value)
        if problem is not None:
            raise ValueError(problem)
    return MappingProxyType(dict(overrides))


def _folder_name(v: str) -> str:
    """A protocol name: one safe path component (it names the default run folder)."""
    if not NAME_PATTERN.fullmatch(v):
        raise ValueError(f"must be one folder name: a letter or digit, then up to {limits.MAX_NAME_CHARS - 1} "
                         f"letters, digits, '.', '_', '-' or spaces (got {shown(v)})")
    return v


def _label(v: str) -> str:
    """A group name: printable text on one line, as tables and figures show it."""
    if len(v) > limits.MAX_GROUP_NAME_CHARS:
        raise ValueError(f"longer than {limits.MAX_GROUP_NAME_CHARS} characters (got {shown(v)})")
    if not v.strip():
        raise ValueError(f"must not be blank (got {shown(v)})")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in v):
        raise ValueError(f"must be one line of printable text (got {shown(v)})")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _known_genotype(v: str) -> str:
    if v not in GENOTYPES:
        raise ValueError(f"unknown genotype {shown(v)}{did_you_mean(v, GENOTYPES)} (known: {', '.join(GENOTYPES)})")
    return v


Knockout = Literal[tuple(KNOCKOUTS)]  # type: ignore[valid-type]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Cre(_Strict):
    """A Cre driver deleting a floxed gene in one cell type: the mutant SOD1 transgene of a floxed
    line (default) or IKBKB (NF-kB signalling)."""

    driver: Literal[tuple(CRE_DRIVERS)]  # type: ignore[valid-type]
    efficiency: Fraction | None = None  # default: the driver's sourced efficiency
    gene: Literal[tuple(FLOXED_GENES)] = "SOD1"  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _gene_in_cell_type(self) -> "Cre":
        cell = CRE_DRIVERS[self.driver].cell_type
        if cell not in FLOXED_GENES[self.gene]:
            raise ValueError(f"gene: {self.gene} has no role in {cell.replace('_', ' ')} in the model "
                             f"({self.driver} acts there)")
        return self

    @property
    def value(self) -> float:
        """The excision efficiency used."""
        return CRE_DRIVERS[self.driver].default_efficiency if self.efficiency is None else self.efficiency


class Chimera(_Strict):
    """A fraction of one cell type, or of every cell type (``all``: a whole-animal mosaic as in
    Clement et al. 2003 Science 302:113), carrying another genotype's transgene."""

    cell_type: Literal["motor_neurons", "astrocytes", "microglia", "all"]
    fraction: Fraction
    donor: str

    _donor = field_validator("donor")(classmethod(lambda cls, v: _known_genotype(v)))


class Ablation(_Strict):
    """Partial ablation of proliferating microglia from an age (CD11b-TK + ganciclovir; Gowing 2008)."""

    fraction: Fraction
    start_day: Annotated[float, Field(ge=0.0)] = 0.0


def _check_drug(drug: str, target: str | None) -> None:
    """A library drug (no target of its own), or ``generic`` with the model parameter it inhibits."""
    if drug != "generic" and drug not in DRUGS:
        raise ValueError(f"drug: unknown drug {shown(drug)}{did_you_mean(drug, DRUGS)} "
                         f"(known: generic, {', '.join(DRUGS)})")
    if drug == "generic":
        if target is None:
            raise ValueError("target: a generic drug needs the model parameter it inhibits")
        if target not in IDX:
            raise ValueError(f"target: {unknown_parameter(target)}")
    elif target is not None:
        raise ValueError(f"target: only a generic drug takes a target ({drug} has its own)")


class Treatment(_Strict):
    """A drug given on a schedule: boluses (ip, oral gavage) or in the diet (ppm of chow).

    ``drug`` names a compound of the library (``alsim drugs``) or ``generic``, a
    hypothetical compound that inhibits the model rate ``target`` with an Emax model.
    """

    drug: str
    route: Literal[ROUTES] = "ip"  # type: ignore[valid-type]
    dose_mg_per_kg: Annotated[float, Field(ge=0.0, le=1e6)] = 0.0
    ppm: Annotated[float, Field(ge=0.0, le=1e6)] = 0.0
    start_day: Annotated[float, Field(ge=0.0)] = 0.0
    stop_day: Annotated[float, Field(gt=0.0)] | None = None
    interval_days: Annotated[float, Field(gt=0.0, le=365.0)] = 1.0
    target: str | None = None
    ic50: Annotated[float, Field(gt=0.0, le=1e9)] = 1.0
    imax: Annotated[float, Field(gt=0.0, le=1.0)] = 0.9
    half_life_h: Annotated[float, Field(gt=0.0, le=1e4)] = 4.0
    brain_plasma: Annotated[float, Field(gt=0.0, le=1e3)] = 1.0

    @model_validator(mode="after")
    def _coherent(self) -> "Treatment":
        _check_drug(self.drug, self.target)
        if self.route == "diet" and self.ppm <= 0:
            raise ValueError(f"ppm: drug in diet needs ppm > 0, got {self.ppm}")
        if self.route != "diet" and self.dose_mg_per_kg <= 0:
            raise ValueError(f"dose_mg_per_kg: route {self.route!r} needs a dose > 0, got {self.dose_mg_per_kg}")
        if self.stop_day is not None and self.stop_day <= self.start_day:
            raise ValueError(f"stop_day {self.stop_day} is not after start_day {self.start_day}")
        return self

    @property
    def compound(self) -> Drug:
        """The drug's PK/PD description."""
        if self.drug == "generic":
            return generic_drug(self.target, self.ic50, self.imax, self.half_life_h, self.brain_plasma)
        return DRUGS[self.drug]

    def schedule(self, end: float) -> Schedule:
        """The dosing schedule, stopping at ``stop_day`` or at ``end``."""
        stop = end if self.stop_day is None else min(self.stop_day, end)
        return Schedule(self.route, self.start_day, stop, self.dose_mg_per_kg, self.interval_days, self.ppm)


class MediumDrug(_Strict):
    """A drug in a culture well's medium at a constant concentration, from plating to the last day
    (renewed with every medium change): each target parameter of the well's cells is multiplied by
    1 - imax C / (C + ic50), C the medium concentration in umol/L (the drug library's potencies,
    which are stated for free brain concentration). ``generic`` inhibits the model rate ``target``."""

    drug: str
    concentration_um: Annotated[float, Field(gt=0.0, le=1e5)]
    target: str | None = None
    ic50: Annotated[float, Field(gt=0.0, le=1e9)] = 1.0
    imax: Annotated[float, Field(gt=0.0, le=1.0)] = 0.9

    @model_validator(mode="after")
    def _coherent(self) -> "MediumDrug":
        _check_drug(self.drug, self.target)
        return self

    def factors(self) -> dict[str, float]:
        """Parameter name -> the factor the drug multiplies it by."""
        targets = ((self.target, self.ic50, self.imax),) if self.drug == "generic" else (
            (t.parameter, t.ic50, t.imax) for t in DRUGS[self.drug].targets)
        c = self.concentration_um
        return {name: 1.0 - imax * c / (c + ic50) for name, ic50, imax in targets}


class Feeder(_Strict):
    """Glia feeding a culture well: co-cultured, or the donor of conditioned medium."""

    cell_type: Literal["astrocytes", "microglia"]
    genotype: str
    knockouts: list[Knockout] = Field(default_factory=list)
    density: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0  # plating density / a confluent monolayer
    conditioning_days: Annotated[float, Field(gt=0.0, le=60.0)] = 7.0
    refresh_days: Annotated[float, Field(gt=0.0, le=60.0)] | None = 3.0

    _genotype = field_validator("genotype")(classmethod(lambda cls, v: _known_genotype(v)))


class Group(_Strict):
    """One arm of the experiment: animals (or culture wells) of one genotype and background.

    In a culture context (``coculture`` or ``conditioned_medium``) the genotype,
    knockouts and Cre are those of the plated motor neurons and interneurons, and
    ``feeder`` names the glia; ``n`` counts wells.
    """

    name: str = Field(min_length=1)
    genotype: str
    background: Literal["B6SJL", "C57BL/6"] = "B6SJL"
    n: Annotated[int, Field(gt=0, le=limits.MAX_ANIMALS)]
    female_fraction: Fraction = 0.5
    context: Literal["animal", "coculture", "conditioned_medium"] = "animal"
    cre: list[Cre] = Field(default_factory=list)
    knockouts: list[Knockout] = Field(default_factory=list)
    myeloid_donor: str | None = None
    chimera: Chimera | None = None
    microglia_ablation: Ablation | None = None
    treatments: list[Treatment] = Field(default_factory=list)
    medium_drugs: list[MediumDrug] = Field(default_factory=list)
    feeder: Feeder | None = None
    sweep_start_day: float | None = None  # set when a sweep made this group
    sweep_dose: float | None = None
    overrides: Mapping[str, float] = Field(default_factory=dict, validate_default=True)

    _genotype = field_validator("genotype")(classmethod(lambda cls, v: _known_genotype(v)))
    _name = field_validator("name")(classmethod(lambda cls, v: _label(v)))

    @field_validator("myeloid_donor")
    @classmethod
    def _known_donor(cls, v: str | None) -> str | None:
        return None if v is None else _known_genotype(v)

    @model_validator(mode="after")
    def _consistent(self) -> "Group":
        sod1_cre = [c for c in self.cre if c.gene == "SOD1"]
        if sod1_cre and not GENOTYPES[self.genotype].floxed:
            raise ValueError(f"cre: {sod1_cre[0].driver} needs a floxed transgene; "
                             f"genotype {self.genotype!r} is not floxed (use LoxSOD1-G37R)")
        if self.context == "animal" and self.feeder is not None:
            raise ValueError("feeder: only culture contexts (coculture, conditioned_medium) take a feeder")
        if self.context != "animal":
            if self.feeder is None:
                raise ValueError(f"feeder: context {self.context!r} needs a feeder (cell_type, genotype)")
            for key in ("myeloid_donor", "chimera", "microglia_ablation"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key}: only meaningful in context 'animal'")
            if self.treatments:
                raise ValueError("treatments: dosed drugs are given to animals (context 'animal'); "
                                 "culture wells take medium_drugs")
        elif self.medium_drugs:
            raise ValueError("medium_drugs: only culture wells (coculture, conditioned_medium) have a medium; "
                             "animals take treatments")
        return self

    @property
    def modifications(self) -> Modifications:
        """The group's genetic manipulations as the biology layer composes them."""
        ch = self.chimera
        return Modifications(
            cre=tuple((c.driver, c.value, c.gene) for c in self.cre),
            knockouts=tuple(self.knockouts),
            myeloid_donor=self.myeloid_donor,
            chimera=None if ch is None else (ch.cell_type, ch.fraction, ch.donor),
        )

    @property
    def in_culture(self) -> bool:
        """True for culture wells."""
        return self.context != "animal"

    @field_validator("overrides")
    @classmethod
    def _known_params(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_overrides(v)

    @field_serializer("overrides")
    def _plain_overrides(self, v: Mapping[str, float]) -> dict[str, float]:
        return dict(v)


class Arm(_Strict):
    """One arm of a published comparison: its mean, the spread the paper gives and its n."""

    mean: float
    spread: Annotated[float, Field(ge=0.0)]
    n: Annotated[int, Field(ge=1)]


class Published(_Strict):
    """The published number a criterion is scored against, as the paper reports it.

    Give either ``arms`` (the paper's group means, spreads and n; keys ``group`` and ``vs``
    for a comparison, ``group`` alone for one group, ``female`` and ``male`` for a sex
    difference), or ``value`` with ``se`` (or ``ci95``) when the paper reports the estimate
    itself, or ``range`` when it reports a window. ``spread`` says what the arms' +/- is.
    ``extra_sd`` (in the measure's units) is the between-study spread the project allows on
    top of sampling error, with ``extra_reason``. The band is derived from these by one rule
    (``analysis.claims.published_band``) and written into the criterion's ``low``/``high`` by
    ``scripts/claim_bands.py``; a test holds them equal.
    """

    arms: dict[str, Arm] | None = None
    value: float | None = None
    se: Annotated[float, Field(ge=0.0)] | None = None
    ci95: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    range: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    spread: Literal["sd", "sem"] = "sem"
    extra_sd: Annotated[float, Field(ge=0.0)] = 0.0
    extra_reason: str = ""
    where: str
    confidence: Literal["read", "secondary", "unverified"]
    citation: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "Published":
        given = [self.arms is not None, self.value is not None, self.range is not None]
        if sum(given) != 1:
            raise ValueError("published: give exactly one of arms, value (with se or ci95) or range")
        if self.value is not None and (self.se is None) == (self.ci95 is None):
            raise ValueError("published: a value needs its se or its ci95 (one of them)")
        if self.extra_sd > 0 and not self.extra_reason:
            raise ValueError("published: extra_sd needs extra_reason (why the project allows it)")
        return self


class Criterion(_Strict):
    """A pass criterion on a readout, which must lie in [low, high].

    measure: ``value`` (mean of ``readout`` in ``group``), ``change`` (mean in ``group`` /
    mean in ``vs`` - 1), ``difference`` (mean of ``readout`` - mean of ``minus`` in ``group``),
    ``late_share`` (share of the survival gain of ``group`` over ``vs`` that falls in the late
    phase; Boillee 2006), ``group_difference`` (mean in ``group`` - mean in ``vs``), ``sd``
    (cohort standard deviation in ``group``), ``sex_change`` (mean in the group's females /
    mean in its males - 1), ``order`` (1 when the group means of ``readout`` and then each of
    ``then`` strictly increase, else 0). ``absolute`` scores the magnitude of the measure.

    Every criterion is either two-sided, its band derived from ``published`` numbers (or set
    by the project where the row is a model property, with a finite ``low`` and ``high``), or
    ``direction_only`` (the source states only a direction; one-sided). ``target`` is the
    published number as text (default: from ``published``, else the band) and ``citation``
    the row's own source (default: the claim's).
    """

    label: str
    readout: str
    group: str
    measure: Literal["value", "change", "difference", "late_share", "group_difference", "sd", "sex_change",
                     "order"] = "value"
    vs: str | None = None
    minus: str | None = None
    then: list[str] = Field(default_factory=list)
    absolute: bool = False
    published: Published | None = None
    direction_only: bool = False
    low: Annotated[float, Field(allow_inf_nan=True)] = float("-inf")
    high: Annotated[float, Field(allow_inf_nan=True)] = float("inf")
    target: str | None = None
    citation: str | None = None
    mechanism: str = ""

class Claim(_Strict):
    """The claim a built-in protocol tests, its source and its pass criteria."""

    id: str
    statement: str
    citation: str
    criteria: Annotated[list[Criterion], Field(min_length=1)]


class Litters(_Strict):
    """Litter structure: animals come in litters sharing a random factor on the misfolding
    rates (CV ``cv``; default the parameter ``litter_cv``), assigned to arms either by whole
    litters (``random``: each arm from its own litters) or split across arms (``litter_matched``)."""

    size: Annotated[int, Field(ge=1, le=20)] = 8
    cv: Annotated[float, Field(ge=0.0, le=0.5)] | None = None
    assignment: Literal["random", "litter_matched"] = "litter_matched"


class Sweep(_Strict):
    """A timing experiment: the template group's first treatment at every start age and dose
    (mg/kg, or ppm for diet); each combination becomes its own group."""

    group: str
    start_days: Annotated[list[Annotated[float, Field(ge=0.0)]], Field(min_length=1)]
    doses: Annotated[list[Annotated[float, Field(gt=0.0)]], Field(min_length=1)]


class FocusSpec(_Strict):
    """A local onset in a spatial run: cells within ``radius_um`` of ``centre_um`` (x, y[, z] in µm of the
    tissue box) express ``expression_factor`` times the line's mutant SOD1, and with ``microglia:
    activated`` their microglia start pro-inflammatory."""

    centre_um: Annotated[list[Annotated[float, Field(ge=0.0, le=1e5)]], Field(min_length=2, max_length=3)]
    radius_um: Annotated[float, Field(gt=0.0, le=1e5)]
    expression_factor: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0
    microglia: Literal["surveillant", "activated"] = "surveillant"


class TissueSpec(_Strict):
    """The tissue of a spatial run (``engine: spatial``): a 2-D ventral-horn ``section``, a 3-D ``slab``
    of it, a uniform grey-matter ``block`` of ``size_um``, or a square patch of a culture ``well``'s
    floor of ``size_um`` (co-cultures); voxels of ``dx_um``; cells stepped every
    ``dt_days``; fields, cells and pictures kept every ``snapshot_every_days`` (PNG snapshots and the
    animation only with ``pictures``); a chimera's donor
    cells ``random``ly scattered or gathered in the medial ``halves``; an optional ``focus``."""

    geometry: Literal["section", "slab", "block", "well"] = "section"
    dx_um: Annotated[float, Field(ge=5.0, le=100.0)] = 10.0
    thickness_um: Annotated[float, Field(gt=0.0, le=2000.0)] = 30.0
    size_um: Annotated[list[Annotated[float, Field(gt=0.0, le=1e4)]], Field(min_length=2, max_length=2)] = \
        Field(default_factory=lambda: [400.0, 400.0])
    dt_days: Annotated[float, Field(gt=0.0, le=1.0)] = 0.25
    snapshot_every_days: Annotated[float, Field(gt=0.0, le=1500.0)] = 5.0
    pictures: bool = True
    chimera_pattern: Literal["random", "halves"] = "random"
    focus: FocusSpec | None = None

    @model_validator(mode="after")
    def _resolves(self) -> "TissueSpec":
        if self.geometry in ("section", "slab") and self.dx_um > 20.0:
            raise ValueError(f"dx_um: {self.dx_um} is too coarse for the motor pools of a ventral horn (<= 20)")
        if self.geometry == "slab" and self.thickness_um < 2 * self.dx_um:
            raise ValueError(f"thickness_um: a slab needs at least two voxel layers (>= {2 * self.dx_um:g})")
        return self


class Protocol(_Strict):
    """A whole experiment. Same protocol and seed give identical results."""

    name: str = Field(min_length=1)
    description: str = ""
    citation: str = ""
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    duration_days: Annotated[float, Field(gt=0.0, le=1500.0)] = 200.0
    save_every_days: Annotated[float, Field(gt=0.0, le=30.0)] = 1.0
    engine: Literal["meanfield", "spatial"] = "meanfield"
    tissue: TissueSpec | None = None
    control: str | None = None
    # planned comparisons [arm, reference] beside (or instead of) the control, each tested in the
    # survival statistics; p-values Holm-corrected across them; Cox models adjusted for ``covariates``
    contrasts: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = Field(
        default_factory=list, max_length=limits.MAX_GROUPS)
    # ``arm:sex`` adds the treatment-by-sex interaction (a 2 x 2 factorial analysis)
    covariates: list[Literal["sex", "arm:sex"]] = Field(default_factory=list, max_length=2)
    readouts: list[str] = Field(default_factory=lambda: list(READOUTS))
    overrides: Mapping[str, float] = Field(default_factory=dict, validate_default=True)
    claim: Claim | None = None
    sweep: Sweep | None = None
    litters: Litters | None = None
    background_mortality_per_day: Annotated[float, Field(ge=0.0, le=0.1)] = 0.0
    within_animal_noise: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    timeseries: Literal["auto", "all", "summary", "none"] = "auto"
    vector_figures: Literal["svg", "pdf"] | None = None  # each figure also as SVG or PDF, for papers
    # parameter values that replace the defaults before lines, manipulations and overrides apply
    # (a replayed parameter set: alsim run --parameters manifest.json)
    base_parameters: Mapping[str, float] = Field(default_factory=dict, validate_default=True)
    groups: Annotated[list[Group], Field(min_length=1, max_length=limits.MAX_GROUPS)]

    _name = field_validator("name")(classmethod(lambda cls, v: _folder_name(v)))

    @field_validator("readouts")
    @classmethod
    def _known_readouts(cls, v: list[str]) -> list[str]:
        for r in v:
            if r not in READOUTS:
                raise ValueError(f"unknown readout {shown(r)} (known: {', '.join(READOUTS)})")
        return v

    @field_validator("overrides", "base_parameters")
    @classmethod
    def _known_params(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_overrides(v)

    @field_serializer("overrides", "base_parameters")
    def _plain_overrides(self, v: Mapping[str, float]) -> dict[str, float]:
        return dict(v)

    def base_vector(self) -> np.ndarray:
        """The parameter vector every animal and well starts from: the defaults, with
        ``base_parameters`` in place."""
        v = prm.default_vector()
        for name, value in self.base_parameters.items():
            v[IDX[name]] = value
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Protocol":
        names = [g.name for g in self.groups]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"group names must be unique, {sorted(dup)[0]!r} repeats")
        if self.control is not None and self.control not in names:
            raise ValueError(f"control {self.control!r} is not a group (groups: {', '.join(names)})")
        for k, (arm, ref) in enumerate(self.contrasts):
            for name in (arm, ref):
                if name not in names:
                    raise ValueError(f"contrasts.{k}: {name!r} is not a group (groups: {', '.join(names)})")
            if arm == ref:
                raise ValueError(f"contrasts.{k}: compares {arm!r} with itself")
        if len({tuple(c) for c in self.contrasts}) < len(self.contrasts):
            raise ValueError("contrasts: a comparison is listed twice")
        if "arm:sex" in self.covariates and "sex" not in self.covariates:
            raise ValueError("covariates: 'arm:sex' (the interaction) needs 'sex' as well")
        if len(set(self.covariates)) < len(self.covariates):
            raise ValueError("covariates: a covariate is listed twice")
        if (self.contrasts or self.covariates) and self.in_culture:
            raise ValueError("contrasts: culture wells are compared with their matched control cultures only")
        if self.save_every_days > self.duration_days:
            raise ValueError(f"save_every_days {self.save_every_days} exceeds duration_days {self.duration_days}")
        if self.tissue is not None and self.engine != "spatial":
            raise ValueError("tissue: only a spatial run (engine: spatial) takes a tissue")
        if self.engine == "spatial":
            self._check_spatial()
        kinds = {g.in_culture for g in self.groups}
        if len(kinds) > 1:
            raise ValueError("groups: a protocol is either animals or culture wells, not both")
        if self.claim is not None:
            self._check_criteria(names)
        if self.groups[0].in_culture and self.timeseries not in ("auto", "all"):
            raise ValueError(f"timeseries: culture wells keep every well's time series; use 'auto' or 'all' "
                             f"(got {self.timeseries!r})")
        for g in self.groups:
            for k, t in enumerate(g.treatments):
                if t.start_day >= self.duration_days:
                    raise ValueError(f"groups.{g.name}.treatments.{k}.start_day: {t.start_day} is after the end "
                                     f"of the protocol (duration_days {self.duration_days})")
            if g.microglia_ablation is not None and g.microglia_ablation.start_day >= self.duration_days:
                raise ValueError(f"microglia_ablation.start_day {g.microglia_ablation.start_day} is after the "
                                 f"end of the protocol (duration_days {self.duration_days})")
        problem = limits.resource_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self

    def _check_spatial(self) -> None:
        """What the spatial engine does not run yet is refused on load."""
        geometry = (self.tissue or TissueSpec()).geometry
        for g in self.groups:
            if g.in_culture != (geometry == "well"):
                kind = "culture wells" if g.in_culture else "animals"
                raise ValueError(f"tissue.geometry: {geometry!r} does not hold {kind} (group {g.name!r}); "
                                 f"culture wells need geometry 'well', animals a section, slab or block")
        if self.within_animal_noise > 0:
            raise ValueError("within_animal_noise: the spatial engine has its own per-cell randomness; use 0")

    def _check_criteria(self, names: list[str]) -> None:
        """Every criterion names groups of this protocol and readout columns its runs produce."""
        columns = CRITERION_COLUMNS["culture" if self.in_culture else "animal"]
        for k, c in enumerate(self.claim.criteria):
            where = f"claim.criteria.{k}"
            for key in ("group", "vs"):
                ref = getattr(c, key)
                if ref is not None and ref not in names:
                    raise ValueError(f"{where}.{key}: {shown(ref)} is not a group{did_you_mean(ref, names)}")
            for key, ref in (("readout", c.readout), ("minus", c.minus), *((f"then.{i}", r) for i, r in
                                                                           enumerate(c.then))):
                if ref is not None and ref not in columns:
                    raise ValueError(f"{where}.{key}: {shown(ref)} is not a readout column{did_you_mean(ref, columns)}"
                                     f" (see docs/protocols.md §7)")
            if c.measure == "late_share" and self.in_culture:
                raise ValueError(f"{where}.measure: 'late_share' needs animals (end stage and disease phases)")

    @property
    def in_culture(self) -> bool:
        """True when the groups are culture wells."""
        return self.groups[0].in_culture

    @property
    def n_animals(self) -> int:
        """Animals in all groups."""
        return sum(g.n for g in self.groups)


def _location_part(part: str | int) -> str:
    """One step of an error's field path, quoted and shortened when it is long or odd."""
    text = str(part)
    return text if len(text) <= 40 and text.isprintable() else shown(part)


def _format(err: ValidationError) -> str:
    """The first validation error as one line: field path, problem, and the value (shortened)."""
    e = err.errors(include_url=False)[0]
    loc = ".".join(_location_part(x) for x in e["loc"]) or "protocol"
    msg = " ".join(e["msg"].removeprefix("Value error, ").split())
    if e["type"] == "extra_forbidden":
        return f"{loc}: unknown key (value {shown(e['input'])})"
    if e["type"] == "missing":
        return f"{loc}: required field is missing"
    value = shown(e["input"])
    if "got" in msg or value in msg or isinstance(e["input"], dict):
        return f"{loc}: {msg}"
    return f"{loc}: {msg} (got {value})"


def sweep_name(group: str, start: float, dose: float) -> str:
    """Name of the group a sweep makes for one start age and dose."""
    return f"{group} from {start:g} d at {dose:g}"


def _expand_sweep(data: dict) -> dict:
    """Replace the sweep's template group by one group per (start age, dose)."""
    sweep = data.get("sweep")
    if sweep is None:
        return data
    try:
        sw = Sweep.model_validate(sweep)
    except ValidationError as err:
        raise ProtocolError(f"sweep: {_format(err)}") from None
    groups = data.get("groups") or []
    names = [g.get("name") for g in groups if isinstance(g, dict)]
    if sw.group not in names:
        raise ProtocolError(f"sweep.group: {shown(sw.group)} is not a group{did_you_mean(sw.group, names)}")
    made = len(sw.start_days) * len(sw.doses)
    if made + len(groups) - 1 > limits.MAX_GROUPS:
        raise ProtocolError(f"sweep: {len(sw.start_days)} start days x {len(sw.doses)} doses make {made:,} "
                            f"groups, over the limit of {limits.MAX_GROUPS}")
    out = []
    for g in groups:
        if not isinstance(g, dict) or g.get("name") != sw.group:
            out.append(g)
            continue
        treatments = g.get("treatments")
        if not isinstance(treatments, list) or not treatments or not isinstance(treatments[0], dict):
            raise ProtocolError(f"sweep.group: {shown(sw.group)} needs a list of treatments whose first one is swept")
        for start in sw.start_days:
            for dose in sw.doses:
                t0 = dict(g["treatments"][0], start_day=start)
                t0["ppm" if t0.get("route") == "diet" else "dose_mg_per_kg"] = dose
                out.append({**g, "name": sweep_name(sw.group, start, dose), "treatments": [t0, *g["treatments"][1:]],
                            "sweep_start_day": start, "sweep_dose": dose})
    return {**data, "groups": out}


def protocol_from_dict(data: Any, source: str = "protocol") -> Protocol:
    """Validate a mapping as a protocol, raising :class:`ProtocolError` with one clear message."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{source}: a protocol must be a mapping of fields, got {type(data).__name__}")
    if not isinstance(data.get("groups", []), list):
        raise ProtocolError(f"{source}: groups: must be a list of groups, got {type(data['groups']).__name__}")
    try:
        if not any("sweep_start_day" in g for g in data.get("groups") or [] if isinstance(g, dict)):
            data = _expand_sweep(data)
        return Protocol.model_validate(data)
    except ProtocolError as err:
        raise ProtocolError(f"{source}: {err}") from None
    except ValidationError as err:
        raise ProtocolError(f"{source}: {_format(err)}") from None


def library_names() -> list[str]:
    """Names of the built-in protocols."""
    lib = resources.files("alsim.experiments").joinpath("library")
    return sorted(p.name.removesuffix(".yaml") for p in lib.iterdir() if p.name.endswith(".yaml"))


def library_text(name: str) -> str:
    """The YAML text of a built-in protocol."""
    names = library_names()
    if name not in names:
        raise ProtocolError(f"protocol: no built-in protocol named {shown(name)}{did_you_mean(name, names)} "
                            f"(see `alsim list`)")
    return resources.files("alsim.experiments").joinpath("library", f"{name}.yaml").read_text()


def _exists(ref: str) -> bool:
    """Whether a path exists (False for names the system cannot even look up, e.g. too long)."""
    try:
        return Path(ref).exists()
    except (OSError, ValueError):
        return False


def _is_file_reference(ref: str) -> bool:
    """Whether ``ref`` names a file (a YAML suffix, or an existing path) rather than a built-in protocol."""
    if "\0" in ref:
        raise ProtocolError(f"protocol: {shown(ref)} contains a NUL character")
    return Path(ref).suffix in (".yaml", ".yml") or _exists(ref)


def load_protocol(ref: str | Path) -> Protocol:
    """A protocol from a YAML file path or a built-in name."""
    ref = str(ref)
    source = ref if len(ref) <= 200 and ref.isprintable() else shown(ref)
    try:
        if _is_file_reference(ref):
            if not _exists(ref):
                raise ProtocolError(f"protocol: file not found: {shown(ref)}")
            data = read_bytes(Path(ref))
        else:
            data = library_text(ref).encode()
        document = parse_yaml(data)
    except InputError as err:
        raise ProtocolError(f"{source}: {err}") from None
    return protocol_from_dict(document, source)


def read_parameter_file(ref: str | Path) -> dict[str, float]:
    """The parameter values a file sets, as ``base_parameters``: a run's ``manifest.json`` (its
    ``parameters``) or a YAML/JSON mapping of parameter name to value. Values equal to the
    defaults are left out, so a manifest of a default run sets nothing."""
    ref = str(ref)
    try:
        if not _exists(ref):
            raise ProtocolError(f"--parameters: file not found: {shown(ref)}")
        document = parse_yaml(read_bytes(Path(ref)))  # JSON is YAML
    except InputError as err:
        raise ProtocolError(f"--parameters: {shown(ref)}: {err}") from None
    if isinstance(document, dict) and isinstance(document.get("parameters"), dict):
        document = document["parameters"]  # a run's manifest
    if not isinstance(document, dict):
        raise ProtocolError(f"--parameters: {shown(ref)}: expected a mapping of parameter name to value "
                            "or a run's manifest.json")
    out = {}
    for name, entry in document.items():
        value = entry.get("value") if isinstance(entry, dict) else entry
        if not isinstance(name, str) or name not in IDX:
            raise ProtocolError(f"--parameters: {unknown_parameter(str(name))}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProtocolError(f"--parameters: {name}: expected a number, got {shown(value)}")
        if float(value) != prm.BY_NAME[name].value:
            out[name] = float(value)
    return out


def with_base_parameters(protocol: Protocol, values: Mapping[str, float]) -> Protocol:
    """The protocol starting from ``values`` in place of the defaults (checked like overrides)."""
    try:
        return protocol_from_dict({**protocol.model_dump(), "base_parameters": {**protocol.base_parameters,
                                                                                **values}}, protocol.name)
    except ProtocolError as err:
        raise ProtocolError(str(err).replace("base_parameters", "--parameters", 1)) from None
