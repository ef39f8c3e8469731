"""Run the calibration studies and the claims table, and score them."""

from __future__ import annotations

from typing import Callable, Mapping

from ..analysis.claims import Row
from ..analysis.claims import claim_rows
from .protocol import Protocol, library_names, load_protocol, protocol_from_dict
from .runner import run

CALIBRATION_STUDIES = ("g93a-natural-history", "t2-time-course")


def scaled(protocol: Protocol, n_transgenic: int | None = None,
           overrides: Mapping[str, float] | None = None, seed_offset: int = 0) -> Protocol:
    """The protocol with every transgenic group at ``n_transgenic`` animals (WT groups at a tenth,
    at least 4; unchanged when None), extra parameter ``overrides`` applied protocol-wide, and its
    seed moved by ``seed_offset`` (another cohort)."""
    data = protocol.model_dump()
    data["seed"] = (data["seed"] + seed_offset) % (2**63)
    if n_transgenic is not None:
        for g in data["groups"]:
            g["n"] = n_transgenic if g["genotype"] != "WT" else max(4, n_transgenic // 10)
    data["overrides"] = {**data["overrides"], **(overrides or {})}
    return protocol_from_dict(data, protocol.name)


def claim_protocols() -> list[str]:
    """Built-in protocols that carry a claim with pass criteria."""
    return [n for n in library_names() if load_protocol(n).claim is not None]


def validate(n_transgenic: int = 400, overrides: Mapping[str, float] | None = None,
             progress: Callable[[str], None] | None = None, claims: bool = True,
             only: list[str] | None = None, seed_offset: int = 0) -> list[Row]:
    """Score the calibration studies (T1, T2 at ``n_transgenic`` animals per transgenic group) and,
    with ``claims``, every other protocol with a claim (at its own n). ``only`` restricts to the
    named studies; ``seed_offset`` moves every protocol's seed (other cohorts). Every row is a claim
    criterion scored by ``analysis.claims``."""
    names = [*CALIBRATION_STUDIES, *(n for n in claim_protocols() if n not in CALIBRATION_STUDIES)]
    rows: list[Row] = []
    for name in names:
        if (only is not None and name not in only) or (not claims and name not in CALIBRATION_STUDIES):
            continue
        if progress is not None:
            progress(name)
        protocol = scaled(load_protocol(name), n_transgenic if name in CALIBRATION_STUDIES else None, overrides,
                          seed_offset)
        rows += claim_rows(protocol, run(protocol).animals)
    return rows


def validation_summary(rows: list[Row]) -> str:
    """One line counting the rows that passed: two-sided (sizes) and direction-only, separately."""
    sized = [r for r in rows if not r.direction_only]
    direction = [r for r in rows if r.direction_only]
    ok = sum(r.passed for r in rows)
    return (f"{ok} of {len(rows)} rows passed: magnitude {sum(r.passed for r in sized)}/{len(sized)}, "
            f"direction only {sum(r.passed for r in direction)}/{len(direction)}")
