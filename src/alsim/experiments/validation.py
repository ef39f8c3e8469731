"""Run the calibration studies and score them against science/CALIBRATION.md."""

from __future__ import annotations

from typing import Callable, Mapping

from ..analysis.calibration import Row, t1_rows, t2_rows
from .protocol import Protocol, load_protocol, protocol_from_dict
from .runner import run

CALIBRATION_STUDIES = ("g93a-natural-history", "t2-time-course")


def scaled(protocol: Protocol, n_transgenic: int, overrides: Mapping[str, float] | None = None) -> Protocol:
    """The protocol with every transgenic group at ``n_transgenic`` animals (WT groups at a tenth,
    at least 4) and extra parameter ``overrides`` applied protocol-wide."""
    data = protocol.model_dump()
    for g in data["groups"]:
        g["n"] = n_transgenic if g["genotype"] != "WT" else max(4, n_transgenic // 10)
    data["overrides"] = {**data["overrides"], **(overrides or {})}
    return protocol_from_dict(data, protocol.name)


def validate(n_transgenic: int = 400, overrides: Mapping[str, float] | None = None,
             progress: Callable[[str], None] | None = None) -> list[Row]:
    """Simulate T1 and T2 at ``n_transgenic`` animals per transgenic group and score every row."""
    rows: list[Row] = []
    for name, score in zip(CALIBRATION_STUDIES, (t1_rows, t2_rows)):
        if progress is not None:
            progress(name)
        result = run(scaled(load_protocol(name), n_transgenic, overrides))
        rows += score(result.animals)
    return rows
