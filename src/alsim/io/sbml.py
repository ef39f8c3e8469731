"""SBML export of one animal's mean-field model, traced from the same compiled functions the engine runs.

There is no second transcription of the equations: the assembled right-hand
side (``engines.assembly.animal_rhs``) and reporters (``animal_observe``)
are executed once in Python with SymPy symbols in place of numbers; the
branch-free primitives of ``biology.kernels`` (``hill``, ``positive``,
``select``, ...) are swapped for their symbolic twins. Common subexpressions
become SBML assignment rules, each state a species with a rate rule, each
reporter an assignment rule, each parameter a constant with its unit and
source in its notes. ``tests/test_sbml.py`` simulates the export with
libRoadRunner (CVODE) and holds it to alsim's own trajectories.

Needs the optional dependencies ``sympy`` and ``python-libsbml``
(``pip install 'alsim[sbml]'``).
"""

from __future__ import annotations

import math
import types

import numpy as np

from ..biology import kernels
from ..biology.model import MODEL, REPORTER_NAMES
from ..biology.parameters import NAMES
from ..engines import assembly as asm


def _symbolic_primitives(sp) -> dict:
    """SymPy twins of the primitives that hold every value-dependent choice of the kernels.

    They are unevaluated function heads (``piecewise``, ``max``, ``min``, ``gt``), printed as
    SBML's own functions: SymPy never tries to simplify them, which keeps tracing fast.
    """
    piecewise, mx, mn, gt = (sp.Function(n) for n in ("piecewise", "max", "min", "gt"))
    return {
        "positive": lambda x: mx(x, 0),
        "at_least": lambda x, low: mx(x, low),
        "at_most": lambda x, high: mn(x, high),
        "select": lambda c, a, b: (a if c else b) if isinstance(c, bool) else piecewise(a, c, b),
        "ratio_or_zero": lambda num, den, eps: piecewise(num / den, gt(den, eps), 0),
        # x^n / (x^n + k^n) for x > 0, else 0: written with max() (equal for k > 0, which the parameter
        # domains guarantee), so that no piecewise condition sits on its switch at birth
        "hill": lambda x, k, n: mx(x, 0) ** n / (mx(x, 0) ** n + k ** n),
        "fold_excess": lambda v, ref: piecewise(mx(v / ref - 1, 0), gt(ref, 0), 0),
    }


class _Tracer:
    """Turns compiled functions into plain Python functions that run on SymPy expressions."""

    def __init__(self, sp):
        self.sp = sp
        self.primitives = _symbolic_primitives(sp)
        self.math = types.SimpleNamespace(exp=sp.exp, log=sp.log, sqrt=sp.sqrt)
        self.done: dict = {}

    def function(self, fn):
        """The Python twin of compiled function ``fn``, its globals traced recursively."""
        py = getattr(fn, "py_func", fn)
        if py.__name__ in self.primitives and py.__module__ == kernels.__name__:
            return self.primitives[py.__name__]
        if py in self.done:
            return self.done[py]
        g = dict(py.__globals__)
        twin = types.FunctionType(py.__code__, g, py.__name__, py.__defaults__, py.__closure__)
        self.done[py] = twin
        for name in py.__code__.co_names:
            if name in g:
                g[name] = self.value(g[name])
        return twin

    def value(self, obj):
        """What a global becomes in a traced function: compiled functions and modules traced, math symbolic."""
        if obj is math:
            return self.math
        if hasattr(obj, "py_func"):
            return self.function(obj)
        if isinstance(obj, types.ModuleType) and obj.__name__.startswith("alsim."):
            ns = types.SimpleNamespace(**{k: v for k, v in vars(obj).items() if not k.startswith("__")})
            for k, v in vars(ns).items():
                if hasattr(v, "py_func"):
                    setattr(ns, k, self.function(v))
            return ns
        return obj


class _Infix:
    """SBML Level 3 infix text of a SymPy expression (parsed back by ``libsbml.parseL3Formula``)."""

    def __init__(self, sp):
        self.sp = sp

    def __call__(self, e) -> str:
        sp = self.sp
        if isinstance(e, (bool, sp.logic.boolalg.BooleanAtom)):
            return "true" if bool(e) else "false"
        if e.is_Symbol:
            return e.name
        if e.is_Number:
            return repr(float(e))
        if e.is_Add:
            return "(" + " + ".join(self(a) for a in e.args) + ")"
        if e.is_Mul:
            return "(" + " * ".join(self(a) for a in e.args) + ")"
        if e.is_Pow:
            base, exp = e.args
            if exp == -1:
                return f"(1 / {self(base)})"
            return f"({self(base)} ^ {self(exp)})"
        if isinstance(e, sp.core.function.AppliedUndef):
            name = type(e).__name__
            if name == "gt":
                return f"({self(e.args[0])} > {self(e.args[1])})"
            return f"{name}(" + ", ".join(self(a) for a in e.args) + ")"
        if isinstance(e, sp.core.relational.Relational):
            return f"({self(e.lhs)} {e.rel_op} {self(e.rhs)})"
        if isinstance(e, sp.exp):
            return f"exp({self(e.args[0])})"
        if isinstance(e, sp.log):
            return f"ln({self(e.args[0])})"
        raise ValueError(f"no SBML infix for {type(e).__name__}: {e}")


def traced_animal():
    """Symbolic derivatives and reporters of one animal: (state symbols, derivatives, reporters),
    each expression in terms of state and parameter symbols and ``time``."""
    import sympy as sp

    tracer = _Tracer(sp)
    y = np.array([sp.Symbol(n) for n in asm.STATE_NAMES], dtype=object)
    p = np.array([sp.Symbol(n) for n in NAMES], dtype=object)
    t = sp.Symbol("time")
    dy = np.empty(asm.N_STATES, dtype=object)
    work = np.empty(asm.N_SIGNALS, dtype=object)
    tracer.function(asm.animal_rhs)(t, y, p, dy, work)
    obs = np.empty(asm.N_REPORTERS, dtype=object)
    tracer.function(asm.animal_observe)(t, y, p, np.empty(asm.N_SIGNALS, dtype=object), obs)
    return y, list(dy), list(obs)


def to_sbml(parameters: np.ndarray, y0: np.ndarray, model_id: str = "alsim_animal", notes: str = "") -> str:
    """SBML Level 3 Version 2 text of one animal with parameter vector ``parameters`` and initial state ``y0``."""
    import libsbml
    import sympy as sp

    y, dy, obs = traced_animal()
    cse_symbols = sp.numbered_symbols("cse_")
    subs, reduced = sp.cse(dy + obs, symbols=cse_symbols)
    rates, reporters = reduced[: len(dy)], reduced[len(dy):]
    infix = _Infix(sp)

    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    model.setId(model_id)
    model.setTimeUnits("dimensionless")
    if notes:
        model.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{notes}</p></body>')
    comp = model.createCompartment()
    comp.setId("lumbar_cord")
    comp.setConstant(True)
    comp.setSize(1.0)
    comp.setSpatialDimensions(3)

    by_name = {q.name: q for q in MODEL.parameters}
    for name, value in zip(NAMES, parameters):
        q = model.createParameter()
        q.setId(name)
        q.setValue(float(value))
        q.setConstant(True)
        src = by_name[name].source.replace("&", "and").replace("<", "").replace(">", "")
        q.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{by_name[name].unit}; {src}</p></body>')
    for name, value in zip(asm.STATE_NAMES, y0):
        s = model.createSpecies()
        s.setId(name)
        s.setName(asm.STATE_DESCRIPTIONS[name])
        s.setCompartment("lumbar_cord")
        s.setInitialAmount(float(value))
        s.setHasOnlySubstanceUnits(True)
        s.setBoundaryCondition(False)
        s.setConstant(False)

    def rule(kind, variable: str, expr) -> None:
        math_ast = libsbml.parseL3Formula(infix(expr))
        if math_ast is None:
            raise ValueError(f"SBML: cannot parse the formula of {variable}: {libsbml.getLastParseL3Error()}")
        r = model.createAssignmentRule() if kind == "assign" else model.createRateRule()
        r.setVariable(variable)
        r.setMath(math_ast)

    for sym, expr in subs:
        q = model.createParameter()
        q.setId(sym.name)
        q.setConstant(False)
        rule("assign", sym.name, expr)
    for name, expr in zip(asm.STATE_NAMES, rates):
        rule("rate", name, expr)
    for name, expr in zip(REPORTER_NAMES, reporters):
        q = model.createParameter()
        q.setId(name)
        q.setConstant(False)
        rule("assign", name, expr)
    errors = doc.checkInternalConsistency()
    if errors:
        raise ValueError(f"SBML: the exported model is inconsistent: {doc.getError(0).getMessage()}")
    return libsbml.writeSBMLToString(doc)


def animal_sbml(genotype: str = "SOD1-G93A", background: str = "B6SJL", sex: str = "male") -> str:
    """SBML of the typical animal (no random effects) of a genotype, background and sex."""
    from ..biology.genotypes import animal_vector
    from ..biology.parameters import default_vector

    p = animal_vector(default_vector(), genotype, background, sex, None)
    notes = (f"alsim mean-field model, typical {genotype} {sex} on {background}; time in days. "
             "Exported by tracing the compiled kernels; drugs and the end-stage event are not included.")
    return to_sbml(p, asm.initial_state(), model_id=f"alsim_{genotype}_{background}_{sex}".replace("-", "_")
                   .replace("/", "_"), notes=notes)


