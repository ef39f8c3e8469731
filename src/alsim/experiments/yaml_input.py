"""Reading a protocol file: bounded size, UTF-8 text, plain YAML.

Protocols are short hand-written documents, so the reader refuses what none of
them needs and what can hurt: files over ``MAX_PROTOCOL_BYTES``; text that is
not UTF-8; anchors and aliases (``&name`` / ``*name``: a few lines of aliases
can expand into gigabytes, and protocols can always write the values out);
nesting deeper than ``MAX_YAML_DEPTH``; integers longer than ``MAX_INT_DIGITS``
digits; strings with unpaired surrogates (no file can hold them); and
duplicate keys, which plain YAML loaders resolve silently by keeping the last.
Each refusal is an :class:`InputError` with one line naming the problem and,
where there is one, the line of the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from .._text import shown
from .limits import MAX_INT_DIGITS, MAX_PROTOCOL_BYTES, MAX_YAML_DEPTH

_MERGE_TAG = "tag:yaml.org,2002:merge"


class InputError(ValueError):
    """A protocol file that cannot be read as a protocol document; the message is one line."""


class ProtocolLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors, aliases, duplicate keys, deep nesting or huge integers."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        """Compose one node, refusing anchors, aliases and nesting beyond ``MAX_YAML_DEPTH``."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(None, None, "anchors and aliases (&, *) are not accepted; write the values out",
                                event.start_mark)
        if self._depth >= MAX_YAML_DEPTH:
            raise ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        """A mapping whose keys are all different (a repeated key names itself and both lines)."""
        first_line = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                seen = key in first_line
            except TypeError:  # unhashable: the base class reports it
                continue
            if seen:
                raise ConstructorError(None, None, f"duplicate key {shown(key)} (first on line "
                                       f"{first_line[key] + 1})", key_node.start_mark)
            first_line[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_str(self, node):
        """A string that can be written to files: no lone surrogates (``"\\ud800"`` escapes)."""
        value = super().construct_yaml_str(node)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConstructorError(None, None, "string with an unpaired surrogate (\\ud800-\\udfff escape)",
                                   node.start_mark) from None
        return value

    def construct_yaml_int(self, node):
        """An integer, refusing literals longer than ``MAX_INT_DIGITS`` characters."""
        if len(node.value) > MAX_INT_DIGITS:
            raise ConstructorError(None, None, f"integer longer than {MAX_INT_DIGITS} digits", node.start_mark)
        return super().construct_yaml_int(node)


ProtocolLoader.add_constructor("tag:yaml.org,2002:int", ProtocolLoader.construct_yaml_int)
ProtocolLoader.add_constructor("tag:yaml.org,2002:str", ProtocolLoader.construct_yaml_str)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing files over ``MAX_PROTOCOL_BYTES`` and unreadable paths."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PROTOCOL_BYTES + 1)
    except OSError as err:
        raise InputError(f"cannot read the file ({err.strerror or err})") from None
    if len(data) > MAX_PROTOCOL_BYTES:
        raise InputError(f"file larger than {MAX_PROTOCOL_BYTES:,} bytes; a protocol is a few kB of text")
    return data


def _problem(err: yaml.YAMLError) -> str:
    """One line for a YAML error: what is wrong and on which line."""
    if isinstance(err, yaml.MarkedYAMLError):
        what = ": ".join(part for part in (err.context, err.problem) if part) or "syntax error"
        mark = err.problem_mark or err.context_mark
        return f"line {mark.line + 1}: {what}" if mark is not None else what
    return str(err).splitlines()[0]


def parse_yaml(data: bytes) -> Any:
    """The document in ``data`` (UTF-8 YAML), or :class:`InputError`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start})") from None
    try:
        return yaml.load(text, Loader=ProtocolLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        raise InputError(f"not valid YAML: {_problem(err)}") from None
