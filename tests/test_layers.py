"""One-way layers (DESIGN.md): a module imports only from its own layer or those below, and the
package's import graph has no cycles."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "alsim"
# bottom to top; io and report are what a person touches, beside the API
RANK = {"_numba_cache": 0, "_text": 0, "_files": 0, "biology": 1, "engines": 2, "analysis": 3, "experiments": 4,
        "io": 5, "report": 5, "api": 6, "cli": 7, "__main__": 7, "__init__": 7}


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """alsim modules ``path`` imports, anywhere in the file (function-level imports included)."""
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("alsim"):
                names = [f"{target}.{a.name}" for a in node.names]
                out |= {n for n in names if _exists(n)} or {target}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("alsim")}
    return out


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in SRC.rglob("*.py")}


def test_no_layer_imports_from_a_layer_above():
    bad = [(m, t) for m, targets in _graph().items() for t in targets
           if _layer(m) != "__init__" and RANK[_layer(t)] > RANK[_layer(m)]]
    assert not bad, bad


def test_biology_imports_nothing_from_engines():
    assert not [(m, t) for m, ts in _graph().items() if _layer(m) == "biology" for t in ts if _layer(t) != "biology"
                and RANK[_layer(t)] > 0]


def test_import_graph_has_no_cycles():
    graph = {m: {t for t in ts if t in _graph_keys()} for m, ts in _graph().items()}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError(" -> ".join(path + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def _graph_keys() -> set[str]:
    return {_module(p) for p in SRC.rglob("*.py")}
