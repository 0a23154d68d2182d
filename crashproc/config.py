"""The installation's configuration: one TOML file, the environment and flags, with provenance.

Every command reads the same configuration, so the commands of one installation agree on
where crashes are stored, which symbols are used and so on. A value comes from the first of:
a command-line flag, a ``CRASHPROC_*`` environment variable, the configuration file, the
declared default (``settings.yaml`` beside this module declares every setting). The file is
``--config PATH``, else ``$CRASHPROC_CONFIG``, else ``crashproc.toml`` in the working
directory when there is one.

Why our own loader rather than a configuration library: the file's errors must name the key
and its line, and ``config show`` must say where each value came from. ``tomllib`` parses
but keeps no positions, and the libraries of the field (everett, dynaconf, pydantic-settings)
give neither line numbers nor per-value provenance for TOML; the loader is small.

Secrets (``secret: true``) are never echoed: not in errors, not in ``config show``.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crashproc import yamlfile

CONFIG_ENV = "CRASHPROC_CONFIG"
DEFAULT_FILE = "crashproc.toml"
DECLARATIONS = Path(__file__).with_name("settings.yaml")

TYPES = (
    "string",
    "integer",
    "number",
    "boolean",
    "choice",
    "path",
    "paths",
    "url",
    "urls",
    "strings",
    "location",
)
LIST_TYPES = ("paths", "urls", "strings")
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
SOURCES = ("default", "file", "env", "flag")
SHOWN_VALUE = 60  # characters of a bad value quoted in an error


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and where it came from."""


@dataclass(frozen=True)
class Setting:
    """One declared setting (see settings.yaml)."""

    key: str
    env: str
    type: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    secret: bool = False
    exists: bool = False
    unset: str = "unset"

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    def default_text(self) -> str:
        """The default as help and the README show it."""
        if self.default is None or self.default == []:
            return self.unset
        if isinstance(self.default, list):
            return ", ".join(str(item) for item in self.default)
        if isinstance(self.default, str):
            return self.default
        return format_value(self, self.default)


@functools.cache
def declarations() -> dict[str, Setting]:
    """Every declared setting by key, in declaration order."""
    sections = yamlfile.load(DECLARATIONS)
    found: dict[str, Setting] = {}
    for section, entries in sections.items():
        for name, spec in entries.items():
            spec = dict(spec)
            kind = spec.pop("type")
            if kind not in TYPES:
                raise AssertionError(f"settings.yaml: {section}.{name}: unknown type {kind!r}")
            found[f"{section}.{name}"] = Setting(
                key=f"{section}.{name}",
                env=spec.pop("env"),
                type=kind,
                default=spec.pop("default"),
                help=" ".join(str(spec.pop("help")).split()),
                choices=tuple(spec.pop("choices", ())),
                schemes=tuple(spec.pop("schemes", ())),
                minimum=spec.pop("minimum", None),
                maximum=spec.pop("maximum", None),
                above=spec.pop("above", None),
                secret=bool(spec.pop("secret", False)),
                exists=bool(spec.pop("exists", False)),
                unset=str(spec.pop("unset", "unset")),
            )
            if spec:
                raise AssertionError(f"settings.yaml: {section}.{name}: unknown {sorted(spec)}")
    return found


def setting(key: str) -> Setting:
    return declarations()[key]


@dataclass(frozen=True)
class Value:
    """A setting's effective value and where it came from."""

    value: Any
    source: str  # one of SOURCES
    origin: str  # "crashproc.toml:12", "CRASHPROC_STORAGE", "--storage" or "default"


class Configuration:
    """Effective values of every declared setting, each with its source."""

    def __init__(
        self, values: dict[str, Value], path: Path | None, problems: list[tuple[str, str]]
    ):
        self.values = values
        self.path = path
        # (key, message) for values only checked where they are used (paths that must
        # exist): `check()` raises the first; `config show` lists them all.
        self.problems = problems

    def __getitem__(self, key: str) -> Any:
        return self.values[key].value

    def origin(self, key: str) -> str:
        return self.values[key].origin

    def check(self, keys: Iterable[str] | None = None) -> None:
        """Raise the first problem (of ``keys``' settings, or of all)."""
        wanted = None if keys is None else set(keys)
        for key, problem in self.problems:
            if wanted is None or key in wanted:
                raise ConfigError(problem)


# -- the file -------------------------------------------------------------------------------


def find_config_file(
    explicit: str | os.PathLike[str] | None,
    environ: Mapping[str, str],
    cwd: Path | None = None,
) -> Path | None:
    """``--config``, else ``$CRASHPROC_CONFIG``, else ``./crashproc.toml`` when present."""
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    candidate = (cwd or Path.cwd()) / DEFAULT_FILE
    return candidate if candidate.is_file() else None


_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+(?:\s*\.\s*[A-Za-z0-9_\-]+)*)\s*=")


def key_lines(text: str) -> dict[str, int]:
    """Line numbers (1-based) of each ``table.key`` and ``[table]`` in a TOML text.

    tomllib keeps no positions; keys are found again with a line scan that knows tables and
    dotted keys (enough for a configuration file; multi-line values only count their first line).
    """
    lines: dict[str, int] = {}
    table = ""
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        if match := _TABLE.match(line):
            table = match.group(1).replace(" ", "")
            lines.setdefault(table, number)
            continue
        if match := _KEY.match(line):
            key = re.sub(r"\s+", "", match.group(1))
            full = f"{table}.{key}" if table else key
            lines.setdefault(full, number)
            rest = line[match.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote
    return lines


def read_file(path: Path) -> dict[str, tuple[Any, int]]:
    """The file's settings as {key: (value, line)}; errors for unknown sections and keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    lines = key_lines(text)
    known = declarations()
    sections = {s.section for s in known.values()}
    found: dict[str, tuple[Any, int]] = {}
    for section, entries in document.items():
        if not isinstance(entries, dict):
            line = lines.get(section, 0)
            raise ConfigError(
                f"{path}:{line}: {section!r} is not a setting: settings live in sections "
                f"([{'], ['.join(sorted(sections))}])"
            )
        if section not in sections:
            raise ConfigError(
                f"{path}:{lines.get(section, 0)}: unknown section [{section}]"
                + _did_you_mean(section, sections)
            )
        for name, value in entries.items():
            key = f"{section}.{name}"
            line = lines.get(key, lines.get(section, 0))
            if key not in known:
                raise ConfigError(
                    f"{path}:{line}: unknown setting {key!r}" + _did_you_mean(key, known)
                )
            found[key] = (value, line)
    return found


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- values ---------------------------------------------------------------------------------


def _shown(decl: Setting, raw: Any) -> str:
    if decl.secret:
        return ""
    text = repr(raw)
    return f", not {text[:SHOWN_VALUE]}{'...' if len(text) > SHOWN_VALUE else ''}"


def _fail(decl: Setting, origin: str, what: str, raw: Any) -> ConfigError:
    return ConfigError(f"{origin}: {decl.key} must be {what}{_shown(decl, raw)}")


def _from_text(decl: Setting, text: str) -> Any:
    """A string from the environment (or a flag given as text) as the declared type's value."""
    if decl.type in LIST_TYPES:
        return [item.strip() for item in text.split(",") if item.strip()]
    if decl.type == "integer":
        try:
            return int(text.strip())
        except ValueError:
            return text  # _convert refuses it with the type's message
    if decl.type == "number":
        try:
            return float(text.strip())
        except ValueError:
            return text
    if decl.type == "boolean":
        word = text.strip().lower()
        return True if word in TRUE_WORDS else False if word in FALSE_WORDS else text
    return text


def _rebase(path: str, base: Path | None) -> str:
    """A relative path from a file is relative to that file's directory."""
    if base is None or not path or os.path.isabs(path) or path.startswith("~"):
        return path
    return str(base / path)


def _location_scheme(text: str) -> str:
    if "://" in text:
        return text.split("://", 1)[0].lower()
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", text)
    if match and len(match.group(1)) > 1:  # C:\... is a path
        return match.group(1).lower()
    return ""


def _rebase_location(text: str, base: Path | None) -> str:
    scheme = _location_scheme(text)
    if scheme == "":
        return _rebase(text, base)
    if scheme in ("file", "sqlite") and "://" not in text:
        prefix, rest = text.split(":", 1)
        return f"{prefix}:{_rebase(rest, base)}"
    return text


def url_problem(text: str) -> str | None:
    """Why ``text`` is not a usable http(s) URL (None when it is)."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        return "an http:// or https:// URL"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "an http:// or https:// URL with a valid port"
    if not parts.hostname:
        return "an http:// or https:// URL with a host"
    return None


def _convert(decl: Setting, raw: Any, origin: str, base: Path | None) -> Any:
    """Check and normalize one value; ``base`` rebases relative paths from a file."""
    if raw is None:
        return None
    kind = decl.type
    if kind in LIST_TYPES:
        if isinstance(raw, str | Path):
            raw = [raw]
        if not isinstance(raw, list | tuple) or not all(isinstance(i, str | Path) for i in raw):
            raise _fail(decl, origin, "a list of strings", raw)
        items = [str(item) for item in raw]
        if kind == "paths":
            return [_rebase(item, base) for item in items]
        if kind == "urls":
            for item in items:
                if problem := url_problem(item):
                    raise _fail(decl, origin, f"a list of URLs, each {problem}", item)
        return items
    if kind == "integer":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _fail(decl, origin, "an integer", raw)
        return _bounded(decl, raw, origin)
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _fail(decl, origin, "a number", raw)
        return _bounded(decl, float(raw), origin)
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise _fail(decl, origin, "true or false", raw)
        return raw
    if isinstance(raw, Path):
        raw = str(raw)
    if not isinstance(raw, str):
        raise _fail(decl, origin, "a string", raw)
    if kind == "choice" and raw not in decl.choices:
        raise _fail(decl, origin, f"one of {', '.join(decl.choices)}", raw)
    if kind == "path":
        return _rebase(raw, base)
    if kind == "url" and (problem := url_problem(raw)):
        raise _fail(decl, origin, problem, raw)
    if kind == "location":
        if not raw:
            raise _fail(decl, origin, "a non-empty location", raw)
        scheme = _location_scheme(raw)
        if scheme not in decl.schemes:
            raise ConfigError(
                f"{origin}: {decl.key}: unsupported URL scheme {scheme[:20]!r} ({decl.help})"
            )
        return _rebase_location(raw, base)
    return raw


def check_value(key: str, value: Any, origin: str) -> None:
    """Raise ConfigError when ``value`` (as code holds it) does not fit setting ``key``."""
    _convert(setting(key), value, origin, None)


def _bounded(decl: Setting, number: float, origin: str) -> Any:
    if decl.minimum is not None and number < decl.minimum:
        raise _fail(decl, origin, f"at least {decl.minimum:g}", number)
    if decl.maximum is not None and number > decl.maximum:
        raise _fail(decl, origin, f"at most {decl.maximum:g}", number)
    if decl.above is not None and number <= decl.above:
        raise _fail(decl, origin, f"greater than {decl.above:g}", number)
    return number


def _existence_problems(decl: Setting, value: Any, origin: str) -> list[tuple[str, str]]:
    if not decl.exists or value is None:
        return []
    paths = value if isinstance(value, list) else [value]
    return [
        (decl.key, f"{origin}: {decl.key}: {path} does not exist")
        for path in paths
        if not os.path.exists(os.path.expanduser(path))
    ]


def load(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, tuple[Any, str]] | None = None,
    cwd: Path | None = None,
) -> Configuration:
    """The effective configuration.

    ``flags`` maps setting keys to (value, flag name) for the flags given on the command line.
    Type and range errors raise ConfigError at once; paths that must exist are only
    recorded as problems (``Configuration.check`` raises them where the setting is used).
    """
    env = os.environ if environ is None else environ
    path = find_config_file(config_file, env, cwd)
    from_file: dict[str, tuple[Any, int]] = {}
    if path is not None:
        from_file = read_file(path)
    base = path.resolve().parent if path is not None else None
    flags = flags or {}
    values: dict[str, Value] = {}
    problems: list[tuple[str, str]] = []
    for key, decl in declarations().items():
        if key in flags:
            raw, flag = flags[key]
            if isinstance(raw, str) and decl.type not in ("string", "choice", "path", "url"):
                raw = _from_text(decl, raw)
            value = Value(_convert(decl, raw, flag, None), "flag", flag)
        elif env.get(decl.env) not in (None, ""):
            raw = _from_text(decl, env[decl.env])
            value = Value(_convert(decl, raw, decl.env, None), "env", decl.env)
        elif key in from_file:
            raw, line = from_file[key]
            origin = f"{path}:{line}"
            value = Value(_convert(decl, raw, origin, base), "file", origin)
        else:
            value = Value(decl.default, "default", "default")
        values[key] = value
        problems.extend(_existence_problems(decl, value.value, value.origin))
    return Configuration(values, path, problems)


def format_value(decl: Setting, value: Any) -> str:
    """A value as ``config show`` prints it (TOML-like); secrets are masked."""
    if value is None:
        return "(unset)"
    if decl.secret:
        return "********"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(_quote(str(v)) for v in value) + "]"
    if isinstance(value, str):
        return _quote(value)
    return str(value)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
