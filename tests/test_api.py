"""The Python API: run, analyses, save and read back, errors."""

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import alsim
from alsim.io.store import RunFolderError

TINY = {"name": "api-tiny", "duration_days": 200, "seed": 3, "control": "G93A",
        "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 6},
                   {"name": "G93A Bax-/-", "genotype": "SOD1-G93A", "n": 6, "knockouts": ["Bax"]},
                   {"name": "WT", "genotype": "WT", "n": 2}]}


@pytest.fixture(scope="module")
def result():
    return alsim.run(TINY)


def test_package_exports_the_api():
    assert alsim.__version__ and callable(alsim.run) and callable(alsim.read_run)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        alsim.nope  # noqa: B018


def test_result_tables_are_named(result):
    assert list(result.parameters.columns[:2]) == ["animal", "mut_expr_mn"]
    assert (result.parameters.loc[result.animals.group == "G93A Bax-/-", "bax_gene_dose"] == 0).all()
    assert {"animal", "group", "sex", "age_d", "body_weight_g"} <= set(result.timeseries.columns)
    assert set(result.timeseries.sex) == {"male", "female"}


def test_seed_changes_the_cohort_and_same_seed_repeats_it(result):
    assert alsim.run(TINY).animals.equals(result.animals)
    other = alsim.run(TINY, seed=4).animals
    assert not other.end_stage_d.equals(result.animals.end_stage_d)
    with pytest.raises(alsim.ProtocolError, match="seed"):
        alsim.run(TINY, seed=-1)


def test_analyses_come_from_the_result(result):
    surv = result.survival()
    assert set(surv.group) == {"G93A", "G93A Bax-/-", "WT"} and "hazard_ratio" in surv
    assert "end_stage_d" in set(result.compare().readout)
    assert result.claims() == []
    with pytest.raises(ValueError, match="no sweep"):
        result.timing()
    figs = result.figures()
    assert {"survival_km", "weight"} <= set(figs) and all(isinstance(f, plt.Figure) for f in figs.values())
    plt.close("all")


def test_save_and_read_back(result, tmp_path):
    folder = result.save(tmp_path / "run")
    back = alsim.read_run(folder)
    for name in ("animals", "timeseries", "weighings", "parameters"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name))
    assert back.protocol == result.protocol and back.manifest["seed"] == 3
    assert (folder / "survival_stats.csv").is_file() and (folder / "figures" / "survival_km.png").is_file()
    with pytest.raises(RunFolderError, match="--overwrite"):
        result.save(folder)
    result.save(folder, overwrite=True)


def test_read_run_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(RunFolderError, match="not an alsim run folder"):
        alsim.read_run(tmp_path)


def test_culture_results_have_wells_not_survival():
    wells = alsim.run("t4-astrocyte-culture")
    assert "mn_loss_vs_control" in wells.animals
    with pytest.raises(ValueError, match="wells"):
        wells.survival()
