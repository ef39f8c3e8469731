"""``python -m alsim``: the command line."""

from .cli import app

app(prog_name="alsim")
