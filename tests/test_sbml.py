"""The SBML export is the model alsim runs: libRoadRunner (CVODE) simulates it like alsim does."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from alsim.biology import genotypes as gt
from alsim.biology import parameters as prm
from alsim.engines.assembly import STATE_NAMES, State
from alsim.engines.meanfield import solve_cohort
from alsim.io.sbml import animal_sbml

libsbml = pytest.importorskip("libsbml")

REPORTERS = ("body_weight_g", "motor_function", "alpha_mn_surviving", "tnf_pgml", "il10_pgml", "ros_fold",
             "toxic_factor", "microgliosis_index")


@pytest.fixture(scope="module")
def exported():
    return animal_sbml("SOD1-G93A", "B6SJL", "male")


def test_export_is_valid_sbml_with_every_state_parameter_and_reporter(exported):
    doc = libsbml.readSBMLFromString(exported)
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0
    model = doc.getModel()
    assert [model.getSpecies(i).getId() for i in range(model.getNumSpecies())] == list(STATE_NAMES)
    ids = {model.getParameter(i).getId() for i in range(model.getNumParameters())}
    assert set(prm.NAMES) <= ids and set(REPORTERS) <= ids
    rate_rules = {r.getVariable() for r in model.getListOfRules() if r.isRate()}
    assert rate_rules == set(STATE_NAMES)


_ROADRUNNER_SCRIPT = """
import sys
import numpy as np
import roadrunner
config = roadrunner.Config
config.setValue(config.LLVM_BACKEND, config.LLJIT)  # compiles in seconds rather than most of a minute
config.setValue(config.LLJIT_OPTIMIZATION_LEVEL, config.NONE)
model, out, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
rr = roadrunner.RoadRunner(open(model).read())
rr.integrator.relative_tolerance = 1e-10
rr.integrator.absolute_tolerance = 1e-12
rr.integrator.maximum_num_steps = 1_000_000  # root-finding on piecewise switches at birth takes many tiny steps
res = rr.simulate(0.0, 140.0, 141, ["time", *names])
np.savez(out, **{name: res[name] for name in names})
"""


@pytest.mark.skipif(importlib.util.find_spec("roadrunner") is None, reason="libRoadRunner is not installed")
def test_roadrunner_simulates_the_export_like_alsim(exported, tmp_path):
    """Typical G93A male from birth to 140 days (past end stage; the export has no terminal event):
    states and reporters agree within the two solvers' tolerances. libRoadRunner runs in a fresh
    interpreter: it carries its own LLVM, and two LLVMs (its and Numba's) in one process can crash it."""
    model = tmp_path / "g93a.xml"
    model.write_text(exported)
    names = [*STATE_NAMES, *REPORTERS]
    done = subprocess.run([sys.executable, "-c", _ROADRUNNER_SCRIPT, str(model), str(tmp_path / "rr.npz"),
                           ",".join(names)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    res = np.load(tmp_path / "rr.npz")
    t = np.arange(0.0, 141.0)
    p = gt.animal_vector(prm.default_vector(), "SOD1-G93A", "B6SJL", "male", None)
    sol = solve_cohort(p[None], t, stop_at_end_stage=False, rtol=1e-10, atol=1e-12)
    for name in STATE_NAMES:
        np.testing.assert_allclose(res[name], sol.states[0, :, State[name]], rtol=1e-6, atol=1e-8, err_msg=name)
    for name in REPORTERS:
        np.testing.assert_allclose(res[name], sol.reporter(name)[0], rtol=1e-6, atol=1e-8, err_msg=name)
    assert sol.states[0, -1, State.N_FF] < 0.05  # the comparison covers the whole disease course


def test_export_command_writes_a_file_or_refuses_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from alsim.cli import app

    runner = CliRunner()
    out = tmp_path / "wt.xml"
    ok = runner.invoke(app, ["export", "sbml", "--genotype", "WT", "--sex", "female", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    model = libsbml.readSBMLFromString(out.read_text()).getModel()
    assert model.getId() == "alsim_WT_B6SJL_female" and model.getParameter("mut_expr_mn").getValue() == 0.0
    bad = runner.invoke(app, ["export", "sbml", "--genotype", "G93A"])
    assert bad.exit_code == 2 and "--genotype: unknown value 'G93A'" in bad.output
    assert runner.invoke(app, ["export", "cellml"]).exit_code == 2
