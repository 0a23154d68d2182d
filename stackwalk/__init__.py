"""A minidump stackwalker whose JSON matches rust-minidump's `minidump-stackwalk --json`.

Layout: `minidump/` reads the file (bounds-checked), `context.py`, `memory.py` and
`modules.py` are the shared vocabulary between the reader and the unwinders in `unwind/`,
and `process.py` turns a dump plus symbols into the JSON document.
"""
