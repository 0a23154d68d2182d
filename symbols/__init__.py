"""Breakpad symbols: parsing and lookup, a symbol store with a code-info index, suppliers
that find symbol files locally or over HTTP, and a Tecken-compatible symbols server."""
