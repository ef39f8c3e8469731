"""Derive the band of every claim criterion that carries published numbers, and write it.

Usage:  .venv/bin/python scripts/claim_bands.py [--write]

For each built-in protocol, each criterion with ``published`` numbers gets
``low``/``high`` from the one rule in ``alsim.analysis.claims.published_band``
(the published estimate +/- 1.96 x the combined error of the published
estimate, the simulated cohort at the protocol's group sizes and the
between-study spread the row allows). Without ``--write`` it prints the bands
and the rows whose stored band differs; with it, the library YAML files are
rewritten in place (only the ``low:`` and ``high:`` lines of those criteria).
``tests/test_claims.py`` fails when a stored band differs from the rule.
"""

from __future__ import annotations

import argparse
import re
from importlib import resources

from alsim.analysis.claims import group_sizes, published_band
from alsim.experiments.protocol import library_names, load_protocol


def stale_bands() -> list[tuple[str, str, tuple[float, float], tuple[float, float]]]:
    """(protocol, criterion label, stored band, derived band) of every published criterion."""
    out = []
    for name in library_names():
        p = load_protocol(name)
        if p.claim is None:
            continue
        sizes = group_sizes(p)
        for c in p.claim.criteria:
            if c.published is not None:
                out.append((name, c.label, (c.low, c.high), published_band(c, sizes)))
    return out


def _rewrite(text: str, label: str, band: tuple[float, float]) -> str:
    """The YAML text with the low/high lines of the block-style criterion ``label`` replaced."""
    start = next(text.index(t) for t in (f"label: {label}\n", f'label: "{label}"\n', f"label: {label},",
                                          f'label: "{label}",') if t in text)
    end = text.find("\n    - ", start)
    end = len(text) if end < 0 else end
    block = text[start:end]
    for key, value in zip(("low", "high"), band):
        # a block-style line ("    low: 0") or a flow-style entry ("..., low: 0, high: 0, ...")
        block, count = re.subn(rf"((?:\n\s+|[{{,]\s*){key}: )[^,\n}}]+", rf"\g<1>{value:g}", block, count=1)
        if count != 1:
            raise ValueError(f"criterion {label!r}: no '{key}:' entry to write")
    return text[:start] + block + text[end:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="write the derived bands into the library YAML files")
    args = ap.parse_args()
    library = resources.files("alsim.experiments").joinpath("library")
    changed = 0
    for name, label, stored, derived in stale_bands():
        flag = "" if stored == derived else "  <- differs"
        print(f"{name:34s} {label[:60]:60s} [{derived[0]:g}, {derived[1]:g}]{flag}")
        if stored != derived and args.write:
            path = library.joinpath(f"{name}.yaml")
            path.write_text(_rewrite(path.read_text(), label, derived))
            changed += 1
    if args.write:
        print(f"{changed} band(s) written")


if __name__ == "__main__":
    main()
