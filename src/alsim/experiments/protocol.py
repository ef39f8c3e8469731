"""Protocols: an experiment as a lab would write it, validated once on load.

A protocol names groups (genotype, background, sex mix, n, parameter
overrides), how long to follow them, what to read out and the seed. Loading
is strict: unknown keys, wrong types, negative n, unknown genotypes or
parameter names raise :class:`ProtocolError` with one message naming the
field and the offending value.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..biology.genotypes import BACKGROUNDS, GENOTYPES
from ..biology.parameters import IDX

READOUTS = ("survival", "onset", "weight", "motor", "mn_counts", "innervation", "gliosis", "cytokines")


class ProtocolError(ValueError):
    """A protocol that cannot be run; the message names the field and value."""


def _check_overrides(overrides: dict[str, float]) -> dict[str, float]:
    for name, value in overrides.items():
        if name not in IDX:
            raise ValueError(f"unknown parameter {name!r} (see `alsim params`)")
        if value < 0:
            raise ValueError(f"parameter {name!r} must be non-negative, got {value}")
    return overrides


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Group(_Strict):
    """One arm of the experiment: animals of one genotype and background."""

    name: str = Field(min_length=1)
    genotype: str
    background: Literal["B6SJL", "C57BL/6"] = "B6SJL"
    n: Annotated[int, Field(gt=0, le=1_000_000)]
    female_fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    overrides: dict[str, float] = Field(default_factory=dict)

    @field_validator("genotype")
    @classmethod
    def _known_genotype(cls, v: str) -> str:
        if v not in GENOTYPES:
            raise ValueError(f"unknown genotype {v!r} (known: {', '.join(GENOTYPES)})")
        return v

    @field_validator("overrides")
    @classmethod
    def _known_params(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_overrides(v)


class Protocol(_Strict):
    """A whole experiment. Same protocol and seed give identical results."""

    name: str = Field(min_length=1)
    description: str = ""
    citation: str = ""
    seed: Annotated[int, Field(ge=0)] = 0
    duration_days: Annotated[float, Field(gt=0.0, le=1500.0)] = 200.0
    save_every_days: Annotated[float, Field(gt=0.0, le=30.0)] = 1.0
    engine: Literal["meanfield"] = "meanfield"
    control: str | None = None
    readouts: list[str] = Field(default_factory=lambda: list(READOUTS))
    overrides: dict[str, float] = Field(default_factory=dict)
    groups: Annotated[list[Group], Field(min_length=1)]

    @field_validator("readouts")
    @classmethod
    def _known_readouts(cls, v: list[str]) -> list[str]:
        for r in v:
            if r not in READOUTS:
                raise ValueError(f"unknown readout {r!r} (known: {', '.join(READOUTS)})")
        return v

    @field_validator("overrides")
    @classmethod
    def _known_params(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_overrides(v)

    @model_validator(mode="after")
    def _consistent(self) -> "Protocol":
        names = [g.name for g in self.groups]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"group names must be unique, {sorted(dup)[0]!r} repeats")
        if self.control is not None and self.control not in names:
            raise ValueError(f"control {self.control!r} is not a group (groups: {', '.join(names)})")
        if self.save_every_days > self.duration_days:
            raise ValueError(f"save_every_days {self.save_every_days} exceeds duration_days {self.duration_days}")
        return self

    @property
    def n_animals(self) -> int:
        """Animals in all groups."""
        return sum(g.n for g in self.groups)


def _format(err: ValidationError) -> str:
    e = err.errors()[0]
    loc = ".".join(str(x) for x in e["loc"]) or "protocol"
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        return f"{loc}: unknown key (value {e['input']!r})"
    if e["type"] == "missing":
        return f"{loc}: required field is missing"
    shown = repr(e["input"])
    if "got" in msg or shown in msg or isinstance(e["input"], dict):
        return f"{loc}: {msg}"
    return f"{loc}: {msg} (got {shown})"


def protocol_from_dict(data: Any, source: str = "protocol") -> Protocol:
    """Validate a mapping as a protocol, raising :class:`ProtocolError` with one clear message."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{source}: a protocol must be a mapping of fields, got {type(data).__name__}")
    try:
        return Protocol.model_validate(data)
    except ValidationError as err:
        raise ProtocolError(f"{source}: {_format(err)}") from None


def library_names() -> list[str]:
    """Names of the built-in protocols."""
    lib = resources.files("alsim.experiments").joinpath("library")
    return sorted(p.name.removesuffix(".yaml") for p in lib.iterdir() if p.name.endswith(".yaml"))


def library_text(name: str) -> str:
    """The YAML text of a built-in protocol."""
    if name not in library_names():
        raise ProtocolError(f"protocol: no built-in protocol named {name!r} (see `alsim list`)")
    return resources.files("alsim.experiments").joinpath("library", f"{name}.yaml").read_text()


def load_protocol(ref: str | Path) -> Protocol:
    """A protocol from a YAML file path or a built-in name."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise ProtocolError(f"protocol: file not found: {str(ref)!r}")
        text, source = path.read_text(), str(path)
    else:
        text, source = library_text(str(ref)), str(ref)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ProtocolError(f"{source}: not valid YAML ({str(err).splitlines()[0]})") from None
    return protocol_from_dict(data, source)
