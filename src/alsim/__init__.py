"""alsim: an executable, calibrated model of the innate immune system in ALS (SOD1 mice and culture).

The public API (see :mod:`alsim.api`)::

    import alsim
    result = alsim.run(alsim.load_protocol("c6-bax"))
    result.animals.groupby("group").end_stage_d.mean()
    result.save("runs/c6-bax")
    alsim.read_run("runs/c6-bax")
    alsim.run_to_folder("g93a-natural-history", "runs/nh")  # streamed: memory set by the chunk size

Names are loaded on first use, so ``import alsim`` stays light.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["Result", "load_protocol", "protocol_from_dict", "read_run", "run", "run_to_folder", "ProtocolError",
           "__version__"]


def __getattr__(name: str):
    if name in ("Result", "load_protocol", "read_run", "run", "run_to_folder"):
        return getattr(import_module(".api", __name__), name)
    if name in ("ProtocolError", "protocol_from_dict"):
        return getattr(import_module(".experiments.protocol", __name__), name)
    raise AttributeError(f"module 'alsim' has no attribute {name!r}")
