"""The spatial engine: one biology with the mean field, a focal onset that spreads, the chimera effect,
checkpoint and resume, and results independent of the thread count (small tissues, ~20 s)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from alsim.biology import genotypes as gt
from alsim.biology import parameters as prm
from alsim.biology.model import REPORTER_NAMES
from alsim.engines.meanfield import solve_cohort
from alsim.engines.spatial.diffusion import FieldGrid
from alsim.engines.spatial.setup import Focus, Mosaic, build_engine
from alsim.engines.spatial.spectral import SpectralSolver
from alsim.engines.spatial.step import FIELDS, MICROGLIA, MOTOR_NEURON
from alsim.engines.spatial.tissue import uniform_block, ventral_horn_section

FAST = {**{f"{s}_diffusion": 1e6 for s in FIELDS}, "microglia_reach": 1e4, "astrocyte_domain_radius": 1e4}
MANY = {"alpha_mn_per_mm3": 2.0e4, "interneuron_per_mm3": 5e3}


def animal(genotype="SOD1-G93A", **overrides):
    return gt.animal_vector(prm.default_vector(), genotype, "B6SJL", "male", None, overrides)


def run_to(engine, t_end, every=None):
    """Step to t_end [day]; the reporters every ``every`` days (and at the start)."""
    out = {0.0: engine.observe()} if every else {}
    while engine.t < t_end - 1e-9:
        engine.step()
        if every and abs(engine.t / every - round(engine.t / every)) < 1e-9:
            out[round(engine.t, 6)] = engine.observe()
    return out


def test_spectral_solver_is_the_discrete_steady_state_and_exact_in_time():
    D, lam = [30.0, 500.0], [1e-3, 0.7]
    for shape in [(1, 30, 40), (6, 10, 12)]:
        grid = FieldGrid(shape, 10.0, ["a", "b"], D_um2_s=D, decay_per_s=lam)
        s = np.random.default_rng(1).random(grid.fields_shape)
        sp = SpectralSolver(shape, 10.0, D, lam)
        ref = grid.steady_state(s)
        assert np.abs(sp.steady(s) - ref).max() < 1e-12 * ref.max()
        c = sp.advance(np.zeros(grid.fields_shape), s, 1e7)  # a long step lands on the steady state
        assert np.abs(c - ref).max() < 1e-10 * ref.max()
        half = sp.advance(sp.advance(np.zeros(grid.fields_shape), s, 5.0), s, 5.0)
        assert np.abs(half - sp.advance(np.zeros(grid.fields_shape), s, 10.0)).max() < 1e-12 * half.max()
        smooth = SpectralSolver(shape, 10.0, [900.0], [1.0]).steady(s[:1])
        assert smooth.sum() == pytest.approx(s[:1].sum(), rel=1e-12)  # the contact spread keeps the total


@pytest.fixture(scope="module")
def uniform_runs():
    """A uniform block of 2,400 motor neurons, 1,800 astrocytes and 960 microglia with fast diffusion,
    stepped to 150 days, and the mean field of the same animal."""
    p = animal(**FAST)
    engine = build_engine(uniform_block((2000.0, 2000.0), dx_um=50.0), p, seed=3, densities=MANY)
    spatial = run_to(engine, 150.0, every=10.0)
    t = np.array(sorted(spatial))
    mean_field = solve_cohort(p[None], t, stop_at_end_stage=False).observables[0]
    return t, np.array([spatial[x] for x in t]), mean_field, engine


def test_uniform_tissue_reproduces_the_mean_field(uniform_runs):
    """Shares of motor neurons, endplates and astrocytes within 0.05, microglial densities within 0.07,
    signals within 10 % (the toxic factor 35 %) and end stage within 4 days of the mean field.

    Why: the spatial means are samples of 2,400 motor neurons and ~1,000-2,700 microglia (SD of a
    share ≈ 0.01 for neurons, ≈ 0.03 for a microglial density near 2.5), whose events are drawn once
    per 0.25-day step (first order in dt: late axon withdrawal lags, end stage 130.5 vs 128.0 days;
    0.8 days at dt = 0.1). The toxic factor carries the A1 gain (25x in the calibrated defaults) of
    the first few pro-inflammatory microglia, which appear one by one in the tissue and smoothly in
    the mean field.
    """
    t, s, m, _ = uniform_runs
    col = {n: i for i, n in enumerate(REPORTER_NAMES)}
    for names, tol in ((("alpha_mn_surviving", "motor_function", "innervated_ff", "innervated_s",
                         "astrocyte_reactive_fraction", "misfolded_sod1_mn", "misfolded_sod1_astrocyte",
                         "misfolded_sod1_microglia", "muscle_mass"), 0.05),
                       (("microglia_surveillant", "microglia_proinflammatory", "microglia_protective"), 0.07)):
        for name in names:
            err = np.abs(s[:, col[name]] - m[:, col[name]]).max()
            assert err < tol, (name, err)
    for name, tol in (("tnf_pgml", 0.1), ("il1b_pgml", 0.1), ("mcp1_pgml", 0.1), ("il10_pgml", 0.1),
                      ("ros_fold", 0.1), ("mn_stress", 0.1), ("body_weight_g", 0.1), ("microgliosis_index", 0.1),
                      ("toxic_factor", 0.35)):
        rel = np.abs(s[:, col[name]] / m[:, col[name]] - 1.0).max()
        assert rel < tol, (name, rel)
    assert s[0, col["tnf_pgml"]] == pytest.approx(m[0, col["tnf_pgml"]], rel=1e-9)  # quasi-steady, exact
    p = animal(**FAST)
    end_mf = solve_cohort(p[None], np.array([0.0, 300.0])).end_stage_age[0]
    margin = s[:, col["motor_function"]] - p[prm.IDX["righting_threshold"]]
    k = np.flatnonzero(margin < 0)[0]
    end_spatial = t[k - 1] + (t[k] - t[k - 1]) * margin[k - 1] / (margin[k - 1] - margin[k])
    assert abs(end_spatial - end_mf) < 4.0, (end_spatial, end_mf)


def test_wild_type_tissue_stays_at_baseline():
    engine = build_engine(ventral_horn_section(dx_um=20.0), animal("WT"), seed=1)
    before = engine.observe()
    run_to(engine, 20.0)
    after = engine.observe()
    col = {n: i for i, n in enumerate(REPORTER_NAMES)}
    for name in ("alpha_mn_surviving", "motor_function", "microglia_surveillant", "microglia_proinflammatory",
                 "tnf_pgml", "mn_stress"):
        assert after[col[name]] == pytest.approx(before[col[name]], rel=1e-9), name
    assert engine.cells.alive[: engine.cells.n].all()


def activation_distance(engine, centre):
    """Mean distance [µm] of the activated (M1 or M2) microglia from ``centre``, and how many there are."""
    c = engine.cells
    n = c.n
    on = (c.ctype[:n] == MICROGLIA) & c.alive[:n] & (c.mg_state[:n] > 0)
    return np.hypot(c.position_um[:n, 0] - centre[0], c.position_um[:n, 1] - centre[1])[on].mean(), on.sum()


def test_focal_onset_spreads():
    """A focus at one end of a 2.4 mm strip (2.5x mutant expression, microglia activated at the start):
    activated microglia are first near it, then farther and farther away as the disease reaches the
    rest of the strip (the mean field has no 'where')."""
    focus = Focus((100.0, 200.0), 200.0, expression_factor=2.5, microglia_m1=True)
    engine = build_engine(uniform_block((2400.0, 400.0), dx_um=20.0), animal(), seed=5, focus=focus,
                          densities={"alpha_mn_per_mm3": 1.5e4})
    distance, count = {}, {}
    for t in (20.0, 60.0, 110.0):
        run_to(engine, t)
        distance[t], count[t] = activation_distance(engine, focus.centre_um)
    assert distance[20.0] < 2 * focus.radius_um, distance
    assert distance[20.0] < distance[60.0] < distance[110.0], distance
    assert count[20.0] < count[110.0], count


def test_chimera_wild_type_neighbours_spare_mutant_motor_neurons():
    """Clement et al. 2003: all motor neurons mutant, half of the glia wild type, either gathered in
    one half of the strip or scattered. Mutant motor neurons among wild-type glia feel less stress
    and survive better than those among mutant glia; scattered glia give the mixture in between."""
    p, wt = animal(), animal("WT")
    tissue = uniform_block((2400.0, 400.0), dx_um=20.0)
    result = {}
    for pattern in ("halves", "random"):
        engine = build_engine(tissue, p, seed=4, mosaic=Mosaic(chimera=("glia", 0.5, wt), pattern=pattern),
                              densities={"alpha_mn_per_mm3": 1.5e4})
        run_to(engine, 120.0)
        c = engine.cells
        n = c.n
        mn = np.flatnonzero(c.ctype[:n] == MOTOR_NEURON)
        stress = engine.stress[mn]
        west = c.position_um[mn, 0] < 1200.0
        for side, m in (("wild-type glia", west), ("mutant glia", ~west)):
            live = c.alive[mn] & m
            result[pattern, side] = (stress[live].mean(), c.alive[mn][m].mean())
    wt_side, mut_side = result["halves", "wild-type glia"], result["halves", "mutant glia"]
    mixed = np.mean([result["random", s][0] for s in ("wild-type glia", "mutant glia")])
    assert wt_side[0] < mixed < mut_side[0], result
    assert wt_side[1] > mut_side[1] + 0.05, result


def test_checkpoint_and_resume_equal_a_run_straight_through(tmp_path):
    focus = Focus((640.0, 365.0), 100.0, expression_factor=2.0, microglia_m1=True)
    straight = build_engine(ventral_horn_section(dx_um=20.0), animal(), seed=7, focus=focus)
    stopped = build_engine(ventral_horn_section(dx_um=20.0), animal(), seed=7, focus=focus)
    run_to(straight, 100.0)
    run_to(stopped, 60.0)
    stopped.checkpoint(tmp_path / "ck.pkl")
    resumed = type(stopped).resume(tmp_path / "ck.pkl")
    run_to(resumed, 100.0)
    a, b = straight.cells, resumed.cells
    assert a.n == b.n
    for x, y in zip(a.arrays(), b.arrays()):
        assert np.array_equal(x[: a.n], y[: b.n])
    assert np.array_equal(straight.fields, resumed.fields)
    assert np.array_equal(straight.observe(), resumed.observe())


def test_results_do_not_depend_on_the_thread_count(monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread only")
    from alsim.engines.spatial import step

    monkeypatch.setattr(step, "PARALLEL_MIN_CELLS", 0)  # every cell loop in parallel, even for a small tissue
    focus = Focus((640.0, 365.0), 150.0, expression_factor=2.5, microglia_m1=True)
    runs = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            engine = build_engine(ventral_horn_section(dx_um=20.0), animal(), seed=9, focus=focus)
            run_to(engine, 60.0)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        runs.append(engine)
    assert runs[0].cells.n == runs[1].cells.n and not runs[0].cells.connected[: runs[0].cells.n].all()
    for x, y in zip(runs[0].cells.arrays(), runs[1].cells.arrays()):
        assert np.array_equal(x, y)
    assert np.array_equal(runs[0].fields, runs[1].fields)


def test_a_spatial_protocol_runs_with_the_mean_fields_readouts_and_writes_spatial(tmp_path):
    import alsim
    from alsim.experiments.protocol import ProtocolError, protocol_from_dict

    doc = {"name": "tiny-spatial", "engine": "spatial", "duration_days": 30, "seed": 3, "readouts": [],
           "tissue": {"dx_um": 20, "snapshot_every_days": 15,
                      "focus": {"centre_um": [640, 365], "radius_um": 100, "microglia": "activated"}},
           "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 1,
                       "chimera": {"cell_type": "microglia", "fraction": 0.5, "donor": "WT"}}]}
    result = alsim.run(doc)
    assert len(result.animals) == 1 and "end_stage_d" in result.animals
    assert result.timeseries["age_d"].max() == 30 and result.tissues[0].times.tolist() == [0.0, 15.0, 30.0]
    cells = result.tissues[0].cells
    mg = cells[(cells["type"] == "microglia") & (cells["age_d"] == 0)]
    assert 0.3 < (mg["mutant_row"] != 0).mean() < 0.7  # the chimera, cell by cell
    folder = result.save(tmp_path / "run")
    spatial = folder / "spatial"
    assert (spatial / "cells_animal0.parquet").is_file() and (spatial / "animal0-course.gif").is_file()
    assert (spatial / "fields.zarr").is_dir() or (spatial / "fields_animal0.npz").is_file()
    assert len(list(spatial.glob("animal0-day*.png"))) == 3
    well = {"name": "w", "genotype": "WT", "n": 1, "feeder": {"cell_type": "astrocytes", "genotype": "SOD1-G93A"}}
    for bad, field in (({"engine": "meanfield"}, "tissue"),
                       ({"groups": [{**well, "context": "coculture"}]}, "geometry"),
                       ({"groups": [{**well, "context": "conditioned_medium"}]}, "culture wells need geometry"),
                       ({"tissue": {"geometry": "well"}}, "geometry")):
        with pytest.raises(ProtocolError, match=field):
            protocol_from_dict({**doc, **bad})


def test_cre_recombines_each_cell_of_its_type_with_its_efficiency():
    """CD11b-Cre at 70 %: a mosaic of excised and mutant microglia; no other cell type touched."""
    from alsim.engines.spatial.setup import NO_MUTANT

    engine = build_engine(ventral_horn_section(), animal(), seed=2,
                          mosaic=Mosaic(cre=((MICROGLIA, 0.7),)))
    c = engine.cells
    mg = c.ctype[: c.n] == MICROGLIA
    excised = c.genotype[: c.n] == NO_MUTANT
    assert abs(excised[mg].mean() - 0.7) < 4 * np.sqrt(0.21 / mg.sum()) and not excised[~mg].any()
    assert engine.P[NO_MUTANT][prm.IDX["mut_expr_mg"]] == 0.0
    assert list(engine.recruit_rows) == [NO_MUTANT, 0] and engine.recruit_cum[0] == 0.7  # marrow recruits too


def test_a_coculture_well_reproduces_the_mean_field_well():
    """Wild-type neurons on G93A astrocytes (Nagai et al. 2007), a 3 x 3 mm patch of well floor with 2,700
    motor neurons and fast diffusion: survival and the factor in the medium follow the mean field's well."""
    from alsim.experiments.culture import simulate_wells, well_vector
    from alsim.experiments.protocol import protocol_from_dict
    from alsim.engines.spatial.tissue import culture_well

    proto = protocol_from_dict({"name": "c", "duration_days": 14, "overrides": FAST, "groups": [
        {"name": "g", "genotype": "WT", "n": 1, "context": "coculture",
         "feeder": {"cell_type": "astrocytes", "genotype": "SOD1-G93A"}}]})
    group = proto.groups[0]
    p = well_vector(prm.default_vector(), proto, group, "SOD1-G93A", None)
    t = np.arange(0.0, 15.0, 1.0)
    mean_field = simulate_wells(p[None], group, t)[0]
    engine = build_engine(culture_well(3000.0, dx_um=50.0, shape="square"), p, seed=1, densities={"mn_per_mm2": 300})
    assert engine.in_culture and not engine.cells.connected.any() and engine.initial_counts[MICROGLIA] == 0
    spatial = run_to(engine, 14.0, every=1.0)
    col = {n: i for i, n in enumerate(REPORTER_NAMES)}
    s = np.array([spatial[x] for x in t])
    assert np.abs(s[:, col["alpha_mn_surviving"]] - mean_field[:, col["alpha_mn_surviving"]]).max() < 0.05
    assert np.allclose(s[1:, col["toxic_factor_medium"]], mean_field[1:, col["toxic_factor_medium"]], rtol=0.02)
    # interneurons are spared by the factor but share the basal death of plated neurons
    assert abs(s[-1, col["interneurons_surviving"]] - mean_field[-1, col["interneurons_surviving"]]) < 0.05
    assert s[-1, col["interneurons_surviving"]] > s[-1, col["alpha_mn_surviving"]] + 0.2


def test_conditioned_medium_wells_run_cell_by_cell_as_in_the_mean_field():
    """Wild-type neurons fed medium conditioned by G93A or wild-type astrocytes (Nagai et al. 2007), a
    3 x 3 mm patch of well floor with fast diffusion: no glia in the well, the medium's factor after
    every change and the motor neurons' survival follow the mean field's recipient wells; medium from
    wild-type astrocytes costs nothing against the matched control (the negative control)."""
    from alsim.experiments.protocol import protocol_from_dict
    from alsim.experiments.runner import run

    acm = {"context": "conditioned_medium", "genotype": "WT", "n": 1}
    doc = {"name": "acm", "duration_days": 14, "seed": 4, "overrides": FAST, "control": "WT ACM", "groups": [
        {**acm, "name": "G93A ACM", "feeder": {"cell_type": "astrocytes", "genotype": "SOD1-G93A"}},
        {**acm, "name": "WT ACM", "feeder": {"cell_type": "astrocytes", "genotype": "WT"}}]}
    mean = run(protocol_from_dict(doc))
    spatial = run(protocol_from_dict({**doc, "engine": "spatial", "tissue": {
        "geometry": "well", "size_um": [3000, 3000], "dx_um": 50, "thickness_um": 50, "pictures": False,
        "snapshot_every_days": 14}}))
    cells = spatial.tissues[0].cells
    assert set(cells["type"]) == {"motor_neuron", "interneuron"}  # neurons only: the glia stayed with the donor
    mf, sp = (r.animals.set_index("group") for r in (mean, spatial))
    assert sp.loc["G93A ACM", "mn_survival_vs_control"] == pytest.approx(mf.loc["G93A ACM", "mn_survival_vs_control"],
                                                                           abs=0.05)
    assert mf.loc["G93A ACM", "mn_survival_vs_control"] < 0.85
    assert sp.loc["WT ACM", "mn_survival_vs_control"] == pytest.approx(1.0, abs=0.05)
    ts = [r.timeseries[r.timeseries.group == "G93A ACM"].set_index("age_d")["toxic_factor_medium"]
          for r in (mean, spatial)]
    assert np.allclose(ts[1].loc[1:], ts[0].loc[1:], rtol=0.02)  # the medium changes on days 3, 6, 9, 12
    assert ts[0].loc[3.0] > ts[0].loc[2.0]


def test_conditioned_medium_of_a_cre_group_is_the_mean_fields():
    """A spatial well's Cre acts cell by cell, but its donor well is the mean field's, Cre averaged
    in: the medium it is fed is the same number in both engines (Isl1-Cre changes the donor well's
    motor neurons, whose damage signals reach the donor glia). The medium is not changed on the
    experiment's last day, which is a multiple of the refresh interval, in either engine."""
    from alsim.experiments.protocol import protocol_from_dict
    from alsim.experiments.runner import run

    doc = {"name": "acm", "duration_days": 3, "seed": 4, "groups": [{
        "name": "Lox ACM", "context": "conditioned_medium", "genotype": "LoxSOD1-G37R", "n": 1,
        "cre": [{"driver": "Isl1-Cre", "efficiency": 1.0}],
        "feeder": {"cell_type": "astrocytes", "genotype": "LoxSOD1-G37R"}}]}
    media = [r.timeseries.set_index("age_d")["toxic_factor_medium"] for r in (
        run(protocol_from_dict(doc)),
        run(protocol_from_dict({**doc, "engine": "spatial", "tissue": {
            "geometry": "well", "size_um": [500, 500], "dx_um": 50, "thickness_um": 50, "pictures": False,
            "snapshot_every_days": 3}})))]
    assert media[1].loc[0.0] == pytest.approx(media[0].loc[0.0], rel=1e-12)
    assert np.allclose(media[1].loc[1:], media[0].loc[1:], rtol=0.02)
    assert media[0].loc[3.0] < 0.7 * media[0].loc[0.0]  # day 3: the medium of day 0, not a fresh one


def test_protocol_cre_reaches_the_tissue_per_cell_and_ikbkb_through_the_host():
    """A group's SOD1 Cre becomes a per-cell mosaic; a Cre deleting floxed IKBKB (no per-cell NF-kB
    in the tissue) stays on the host parameters, as in the mean field."""
    from alsim.experiments.protocol import protocol_from_dict
    from alsim.experiments.spatial_run import host_modifications, mosaic_of

    proto = protocol_from_dict({"name": "s", "duration_days": 30, "engine": "spatial", "groups": [
        {"name": "g", "genotype": "LoxSOD1-G37R", "n": 1,
         "cre": [{"driver": "CD11b-Cre", "efficiency": 0.7}, {"driver": "GFAP-Cre", "gene": "IKBKB"}]}]})
    g = proto.groups[0]
    spec = type("Spec", (), {"chimera_pattern": "random"})()  # mosaic_of reads only the chimera pattern
    mosaic = mosaic_of(g, spec, prm.default_vector())
    assert mosaic.cre == ((MICROGLIA, 0.7),)
    assert [c[2] for c in host_modifications(g).cre] == ["IKBKB"]


def test_an_interrupted_spatial_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    """`alsim run` of a spatial protocol checkpoints each animal as it goes: interrupted in the
    second animal, the same command finishes the run from the checkpoints (the first animal taken
    as it was, the second resumed mid-course) and writes the same tables as a run straight through;
    the checkpoint folder is gone once the run is published."""
    from alsim.experiments import spatial_run
    from alsim.experiments.protocol import protocol_from_dict
    from alsim.io.stream import stream_run

    monkeypatch.setattr(spatial_run, "CHECKPOINT_EVERY_DAYS", 4.0)
    proto = protocol_from_dict({
        "name": "tiny-spatial", "engine": "spatial", "duration_days": 20, "seed": 5, "readouts": [],
        "tissue": {"dx_um": 20, "snapshot_every_days": 10, "pictures": False},
        "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 2}]})
    stream_run(proto, tmp_path / "straight")

    calls, advance = [0], spatial_run._AnimalRun.advance

    def interrupted(self, duration):
        calls[0] += 1
        if calls[0] == 130:   # the first animal takes 81 steps of 0.25 d: this is day ~12 of the second
            raise KeyboardInterrupt
        advance(self, duration)

    monkeypatch.setattr(spatial_run._AnimalRun, "advance", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stream_run(proto, tmp_path / "resumed")
    ckpt = tmp_path / ".resumed.checkpoint"
    assert (ckpt / "animal0.done.pkl").is_file() and (ckpt / "animal1.partial.pkl").is_file()
    assert not (tmp_path / "resumed").exists()
    monkeypatch.setattr(spatial_run._AnimalRun, "advance", advance)
    stream_run(proto, tmp_path / "resumed")
    for table in ("animals.parquet", "timeseries.parquet"):
        assert (tmp_path / "resumed" / table).read_bytes() == (tmp_path / "straight" / table).read_bytes()
    assert not ckpt.exists()


def test_drugs_and_ablation_act_in_the_spatial_engine_as_in_the_mean_field():
    """A drug is the mean field's modulation table applied to every cell's parameter row at the
    middle of each step: blocking the Bax-dependent apoptosis of motor neurons from day 0 keeps more
    of them than no drug; the same drug from day 50 leaves the course before it untouched (bit for
    bit); ablation halves microglial proliferation from its start day."""
    import alsim
    from alsim.biology.parameters import IDX
    from alsim.experiments import spatial_run
    from alsim.experiments.protocol import protocol_from_dict

    base = {"name": "spatial-drug", "engine": "spatial", "duration_days": 60, "seed": 4, "readouts": [],
            "tissue": {"dx_um": 20, "snapshot_every_days": 60, "pictures": False,
                       "focus": {"centre_um": [640, 365], "radius_um": 150, "expression_factor": 3.0,
                                 "microglia": "activated"}}}
    drug = {"drug": "generic", "target": "apoptosis_rate_max", "ic50": 1.0, "imax": 0.95, "route": "ip",
            "dose_mg_per_kg": 100.0, "half_life_h": 24.0}

    def mn_course(treatments):
        proto = protocol_from_dict({**base, "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 1,
                                                        "treatments": treatments}]})
        ts = alsim.run(proto).timeseries
        return ts.set_index("age_d")["alpha_mn_surviving"]

    untreated = mn_course([])
    early, late = mn_course([{**drug, "start_day": 0}]), mn_course([{**drug, "start_day": 50}])
    assert untreated.iloc[-1] < 0.9 and early.iloc[-1] > untreated.iloc[-1] + 0.05
    # the late drug's daily table moves from 1 only after day 49.5: identical courses until then
    assert untreated.loc[:49].equals(late.loc[:49]) and not untreated.equals(early)

    proto = protocol_from_dict({**base, "groups": [{"name": "G93A", "genotype": "SOD1-G93A", "n": 1,
                                                    "microglia_ablation": {"fraction": 0.5, "start_day": 10}}]})
    mod = spatial_run.modulation(proto, np.zeros(0, np.int64))
    j = list(mod.params).index(IDX["microglia_proliferation"])
    from alsim.engines.integrate import modulation_factor
    assert modulation_factor(mod.times[0, j], mod.values[0, j], 5.0) == 1.0
    assert modulation_factor(mod.times[0, j], mod.values[0, j], 20.0) == 0.5
