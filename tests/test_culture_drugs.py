"""Drugs in the medium of culture wells: they act on the cells in the well, at a constant
concentration; the matched control culture gets the vehicle."""

from __future__ import annotations

import numpy as np
import pytest

from alsim.biology.model import REPORTER_NAMES
from alsim.experiments.culture import simulate_wells, well_vector
from alsim.experiments.protocol import ProtocolError, protocol_from_dict
from alsim.experiments.runner import run

BLOCKER = {"drug": "generic", "target": "stress_toxic_factor", "ic50": 1.0, "imax": 0.9, "concentration_um": 9.0}
ASTRO = {"cell_type": "astrocytes", "genotype": "SOD1-G93A"}


def _protocol(context: str, drugs: list[dict], n: int = 3):
    return protocol_from_dict({"name": "medium-drugs", "seed": 11, "duration_days": 14, "groups": [
        {"name": "vehicle", "genotype": "WT", "n": n, "context": context, "feeder": ASTRO},
        {"name": "drug", "genotype": "WT", "n": n, "context": context, "feeder": ASTRO, "medium_drugs": drugs}]})


def _mn_last_day(protocol, drugs: bool) -> float:
    """Surviving MNs on the last day of one well (no well-to-well draw), with or without the drug."""
    g = protocol.groups[1]
    P = well_vector(protocol.base_vector(), protocol, g, g.feeder.genotype, None)[None, :]
    obs = simulate_wells(P, g, np.arange(0.0, 15.0), drugs=drugs)
    return float(obs[0, -1, REPORTER_NAMES.index("alpha_mn_surviving")])


@pytest.mark.parametrize("context", ["coculture", "conditioned_medium"])
def test_blocking_the_toxic_factor_in_the_medium_rescues_motor_neurons(context):
    """90 % block of the neurons' response to the astrocyte factor (9 uM, IC50 1 uM): the loss
    caused by mutant astrocytes or their medium falls to a few per cent of the vehicle's."""
    p = _protocol(context, [BLOCKER])
    vehicle, treated = _mn_last_day(p, False), _mn_last_day(p, True)
    assert treated > vehicle + 0.2
    wells = run(p).animals.groupby("group").mn_loss_vs_control.mean()
    assert wells["vehicle"] > 0.3 and wells["drug"] < 0.1 * wells["vehicle"]


def test_a_glial_drug_does_nothing_to_neurons_fed_conditioned_medium():
    """Negative control: celecoxib acts on astrocytes (GLT-1 loss, cytokine drive); neurons fed
    medium that untreated astrocytes conditioned hold no astrocytes for it to act on."""
    p = _protocol("conditioned_medium", [{"drug": "celecoxib", "concentration_um": 10.0}])
    assert _mn_last_day(p, True) == _mn_last_day(p, False)


def test_the_wells_table_names_the_drug():
    a = run(_protocol("coculture", [BLOCKER], n=2)).animals
    assert a.groupby("group").medium_drugs.first().to_dict() == {"drug": "generic 9 uM", "vehicle": ""}


@pytest.mark.parametrize("group, message", [
    ({"name": "a", "genotype": "WT", "n": 2, "medium_drugs": [BLOCKER]},
     "medium_drugs: only culture wells (coculture, conditioned_medium) have a medium"),
    ({"name": "a", "genotype": "WT", "n": 2, "context": "coculture", "feeder": ASTRO,
      "treatments": [{"drug": "minocycline", "dose_mg_per_kg": 50}]},
     "treatments: dosed drugs are given to animals (context 'animal'); culture wells take medium_drugs"),
    ({"name": "a", "genotype": "WT", "n": 2, "context": "coculture", "feeder": ASTRO,
      "medium_drugs": [{"drug": "celecoxib", "concentration_um": -1}]},
     "concentration_um"),
    ({"name": "a", "genotype": "WT", "n": 2, "context": "coculture", "feeder": ASTRO,
      "medium_drugs": [{"drug": "generic", "concentration_um": 1}]},
     "target: a generic drug needs the model parameter it inhibits"),
])
def test_medium_drugs_are_refused_where_they_make_no_sense(group, message):
    with pytest.raises(ProtocolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        protocol_from_dict({"name": "x", "duration_days": 14, "groups": [group]})


def test_fewer_glia_plated_kill_fewer_motor_neurons():
    """Plating density of the feeder glia: the astrocyte factor, and with it the motor-neuron
    loss, grows with the glia plated (half, standard and double density)."""
    loss = []
    for density in (0.5, 1.0, 2.0):
        p = protocol_from_dict({"name": "density", "seed": 3, "duration_days": 14, "groups": [
            {"name": "a", "genotype": "WT", "n": 3, "context": "coculture", "feeder": {**ASTRO, "density": density}}]})
        loss.append(run(p).animals.mn_loss_vs_control.mean())
    assert loss[0] < loss[1] < loss[2]
    assert loss[0] < 0.8 * loss[1]
