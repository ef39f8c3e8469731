"""The cell-signal network of the model as data: every edge names the parameter that carries it
and the mechanism function that uses it. ``tests/test_network.py`` checks each edge against the
code (the parameter must be read in that function), and ``scripts/draw_network.py`` draws the
figure from this table, so the diagram cannot drift from the model.
"""

from __future__ import annotations

# (source, target, sign, parameter, function in mechanisms.py, claim or paper)
EDGES = (
    ("mutant SOD1 (MN)", "MN stress", "+", "stress_cell_autonomous", "mn_stress", "C2, C5"),
    ("mutant SOD1 (astrocyte)", "astrocyte reactivity", "+", "astro_mutant_drive", "rhs", "Feeney 2001"),
    ("mutant SOD1 (astrocyte)", "toxic factor", "+", "toxic_factor_per_astro", "toxic_factor_output", "C4"),
    ("astrocyte reactivity", "toxic factor", "+", "toxic_factor_reactive_gain", "toxic_factor_output", "Liddelow 2017"),
    ("pro-inflammatory microglia", "toxic factor", "+", "toxic_factor_microglial_gain", "toxic_factor_output",
     "Liddelow 2017"),
    ("toxic factor", "MN stress", "+", "stress_toxic_factor", "mn_stress", "C4"),
    ("astrocyte reactivity", "glutamate excess", "+", "glt1_loss_max", "fast_signals", "Rothstein 1995"),
    ("glutamate excess", "MN stress", "+", "stress_glutamate", "mn_stress", "Pardo 2006"),
    ("mutant SOD1 (microglia)", "pro-inflammatory microglia", "+", "microglia_mutant_activation_weight", "rhs", "C5"),
    ("mutant SOD1 (microglia)", "ROS (NOX2)", "+", "ros_mutant_microglia_gain", "fast_signals", "Beers 2006"),
    ("damage signals", "pro-inflammatory microglia", "+", "m1_activation_rate", "rhs", "C3, Zhao 2010"),
    ("damage signals", "protective microglia", "+", "m2_activation_rate", "rhs", "Liao 2012"),
    ("protective microglia", "pro-inflammatory microglia", "+", "m2_to_m1_rate", "rhs", "Liao 2012"),
    ("extracellular mutant SOD1", "pro-inflammatory microglia", "+", "esod_activation_weight", "rhs", "Zhao 2010"),
    ("pro-inflammatory microglia", "TNF-a / IL-1b", "+", "tnf_per_m1", "fast_signals", "C3"),
    ("astrocyte reactivity", "TNF-a / IL-1b", "+", "tnf_per_astro", "fast_signals", "C3"),
    ("astrocyte reactivity", "MCP-1", "+", "mcp1_per_astro", "fast_signals", "Henkel 2006"),
    ("MCP-1", "pro-inflammatory microglia", "+", "microglia_recruitment", "rhs", "C3"),
    ("pro-inflammatory microglia", "ROS (NOX2)", "+", "ros_per_m1", "fast_signals", "Beers 2006"),
    ("pro-inflammatory microglia", "astrocyte reactivity", "+", "astro_c1q_drive", "rhs", "Liddelow 2017"),
    ("TNF-a / IL-1b", "astrocyte reactivity", "+", "astro_cytokine_drive", "rhs", "Liddelow 2017"),
    ("TNF-a / IL-1b", "pro-inflammatory microglia", "+", "cytokine_receptor_saturation", "fast_signals", "Gowing 2006"),
    ("TNF-a / IL-1b", "MN stress", "+", "stress_cytokine", "mn_stress", "C3"),
    ("ROS (NOX2)", "MN stress", "+", "stress_ros", "mn_stress", "C3, Wu 2006"),
    ("protective microglia", "IL-10 / IL-4", "+", "il10_per_m2", "fast_signals", "Beers 2011"),
    ("IL-10 / IL-4", "MN stress", "-", "stress_protection", "mn_stress", "Beers 2008"),
    ("IL-10 / IL-4", "TNF-a / IL-1b", "-", "il10_suppression_k", "fast_signals", "Moore 2001"),
    ("MN stress", "axon withdrawal (FF > FR > S)", "+", "withdrawal_rate_max", "fast_signals", "C1, Pun 2006"),
    ("MN stress", "Bax apoptosis", "+", "apoptosis_rate_max", "fast_signals", "C6, Gould 2006"),
    ("axon withdrawal (FF > FR > S)", "Bax apoptosis", "+", "apoptosis_threshold_ff", "fast_signals", "dying back"),
    ("axon withdrawal (FF > FR > S)", "damage signals", "+", "damp_per_withdrawal", "fast_signals", "C7"),
    ("Bax apoptosis", "damage signals", "+", "damp_per_death", "fast_signals", "C3, C7"),
    ("Bax apoptosis", "extracellular mutant SOD1", "+", "esod_release", "rhs", "Urushitani 2006"),
    ("axon withdrawal (FF > FR > S)", "muscle and body weight", "-", "muscle_atrophy_tau", "rhs", "Bodine 2001"),
    ("MN stress", "upper motor neurons", "-", "umn_rate_max", "rhs", "Zang & Cheema 2002"),
)
