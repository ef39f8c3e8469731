"""The network table cannot drift: each edge's parameter is read by the function it names."""

import inspect
import re

from alsim.biology import mechanisms as mech
from alsim.biology.network import EDGES
from alsim.biology.parameters import IDX


def _constants_of(name: str) -> set[str]:
    """Parameter names whose index constants appear in a mechanisms function's source."""
    src = inspect.getsource(getattr(mech, name).py_func)
    consts = set(re.findall(r"\bP_[A-Z0-9_]+\b", src))
    return {p for p, i in IDX.items() for c in consts if getattr(mech, c, None) == i}


def test_every_edge_is_in_the_code():
    for source, target, sign, param, func, _ in EDGES:
        assert param in IDX, param
        assert sign in "+-"
        assert param in _constants_of(func), f"{source} -> {target}: {param} not read in {func}"


def test_every_stress_insult_has_an_edge():
    stress_params = _constants_of("mn_stress")
    assert stress_params <= {e[3] for e in EDGES}
