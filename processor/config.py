"""Processor settings: the installation's configuration as the processor's commands use it.

The settings themselves (keys, types, defaults, environment variables) are declared once in
``crashproc/settings.yaml`` and read by ``crashproc.config`` (file, environment, flags, with
provenance). This module maps them onto ``Settings``, the plain object the pipeline, the
daemon and its workers are built from (it is pickled to worker processes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashproc import config as configuration
from crashproc.config import ConfigError, Configuration

__all__ = ["FIELD_KEYS", "METRICS_BACKENDS", "STACKWALKER_MODES", "ConfigError", "Settings"]

STACKWALKER_MODES = configuration.setting("stackwalker.mode").choices
METRICS_BACKENDS = configuration.setting("metrics.backend").choices

# Settings field -> declared setting key.
FIELD_KEYS: dict[str, str] = {
    "schema_dir": "processor.schema_dir",
    "rulesets_dir": "processor.rulesets",
    "extra_rules": "processor.extra_rules",
    "beta_version_table": "processor.beta_version_table",
    "max_annotation_size": "processor.max_annotation_size",
    "max_raw_crash_size": "processor.max_raw_crash_size",
    "max_dump_size": "processor.max_dump_size",
    "hostname": "processor.hostname",
    "scratch_dir": "processor.scratch_dir",
    "stackwalker": "stackwalker.mode",
    "stackwalker_command": "stackwalker.command",
    "stackwalker_timeout": "stackwalker.timeout",
    "stackwalker_max_threads": "stackwalker.max_threads",
    "stackwalker_max_frames_per_thread": "stackwalker.max_frames_per_thread",
    "stackwalker_max_total_frames": "stackwalker.max_total_frames",
    "stackwalker_max_json_size": "stackwalker.max_json_size",
    "symbols_paths": "symbols.paths",
    "symbols_urls": "symbols.urls",
    "symbols_cache": "symbols.cache",
    "symbols_trusted_hosts": "symbols.trusted_hosts",
    "symbols_timeout": "symbols.timeout",
    "symbols_crash_budget": "symbols.crash_budget",
    "symbols_max_file_size": "symbols.max_file_size",
    "symbols_cache_max_size": "symbols.cache_max_size",
    "symbols_breaker_failures": "symbols.breaker_failures",
    "symbols_breaker_cooldown": "symbols.breaker_cooldown",
    "storage": "storage.url",
    "s3_endpoint_url": "storage.s3_endpoint_url",
    "queue": "queue.url",
    "queue_lease": "queue.lease",
    "queue_max_attempts": "queue.max_attempts",
    "queue_retry_delay": "queue.retry_delay",
    "allow_volatile_redis": "queue.allow_volatile_redis",
    "workers": "daemon.workers",
    "job_timeout": "daemon.job_timeout",
    "daemon_log_interval": "daemon.log_interval",
    "shutdown_grace": "daemon.shutdown_grace",
    "housekeeping_interval": "daemon.housekeeping_interval",
    "reconcile_days": "daemon.reconcile_days",
    "report_index": "reports.index",
    "report_owed": "reports.owed",
    "report_retry": "reports.retry",
    "metrics": "metrics.backend",
    "statsd_host": "metrics.statsd_host",
    "statsd_port": "metrics.statsd_port",
    "sentry_dsn": "sentry.dsn",
    "collector_bind": "collector.bind",
    "collector_workers": "collector.workers",
    "collector_max_body": "collector.max_body",
    "collector_max_uncompressed": "collector.max_uncompressed",
    "collector_max_parts": "collector.max_parts",
    "collector_max_field_size": "collector.max_field_size",
    "collector_throttle_rules": "collector.throttle_rules",
    "web_bind": "web.bind",
    "web_workers": "web.workers",
    "web_tokens": "web.tokens",
    "web_session_max_age": "web.session_max_age",
    "web_secure_cookie": "web.secure_cookie",
}
_PATH_FIELDS = (
    "schema_dir",
    "rulesets_dir",
    "beta_version_table",
    "symbols_cache",
    "report_owed",
    "collector_throttle_rules",
    "scratch_dir",
    "web_tokens",
)
# Fields whose paths must exist wherever crashes are processed (see check_resources).
RESOURCE_FIELDS = ("schema_dir", "rulesets_dir", "beta_version_table", "symbols_paths")


def _cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass
class Settings:
    """Everything a pipeline, the daemon and the storage/queue commands need; every field has
    a working default (see crashproc/settings.yaml for what each means)."""

    schema_dir: Path | None = None
    # A directory of ruleset files adding to or replacing the bundled ones (None: bundled).
    rulesets_dir: Path | None = None
    extra_rules: list[str] = field(default_factory=list)
    beta_version_table: Path | None = None
    max_annotation_size: int = 1024 * 1024
    max_raw_crash_size: int = 64 * 1024 * 1024
    max_dump_size: int = 256 * 1024 * 1024
    hostname: str | None = None
    # Files of crashes being processed (None: $TMPDIR/crashproc-<uid>, see processor.scratch).
    scratch_dir: Path | None = None
    stackwalker: str = "auto"
    stackwalker_command: str = "minidump-stackwalk"
    stackwalker_timeout: float = 120.0
    # Caps of one walk (stackwalk.limits); 0 is no cap.
    stackwalker_max_threads: int = 1024
    stackwalker_max_frames_per_thread: int = 20_000
    stackwalker_max_total_frames: int = 100_000
    stackwalker_max_json_size: int = 16 * 1024 * 1024
    symbols_paths: list[str] = field(default_factory=list)
    symbols_urls: list[str] = field(default_factory=list)
    symbols_cache: Path | None = None
    symbols_trusted_hosts: list[str] = field(default_factory=list)
    symbols_timeout: float = 300.0
    symbols_crash_budget: float = 60.0
    symbols_max_file_size: int = 2 << 30
    symbols_cache_max_size: int = 16 << 30
    symbols_breaker_failures: int = 3
    symbols_breaker_cooldown: float = 60.0
    storage: str = "./var/crashes"
    queue: str = "sqlite:./var/queue.sqlite"
    s3_endpoint_url: str | None = None
    workers: int = field(default_factory=_cpu_count)
    queue_lease: float = 60.0
    queue_max_attempts: int = 3
    queue_retry_delay: float = 5.0
    allow_volatile_redis: bool = False
    job_timeout: float = 900.0
    daemon_log_interval: float = 60.0
    shutdown_grace: float = 10.0
    housekeeping_interval: float = 900.0
    reconcile_days: int = 7
    # The report index: an SQLite path or a postgresql:// URL (None: beside a local storage
    # directory, see reports.index).
    report_index: str | Path | None = None
    # Crashes saved while the index database was away (processor/reports/owed.py).
    report_owed: Path = Path("./var/report-index-owed")
    # How long the index listener retries an unavailable database (then the crash is owed).
    report_retry: float = 30.0
    metrics: str = "none"
    statsd_host: str = "localhost"
    statsd_port: int = 8125
    # It holds a key: never shown.
    sentry_dsn: str | None = field(default=None, repr=False)
    # crashproc collector (the web service receiving crash reports).
    collector_bind: str = "127.0.0.1:8080"
    collector_workers: int = 2
    collector_max_body: int = 20 * 1024 * 1024
    collector_max_uncompressed: int = 128 * 1024 * 1024
    collector_max_parts: int = 1000
    collector_max_field_size: int = 1024 * 1024
    collector_throttle_rules: Path | None = None
    # crashproc web (the crash browser) and its API tokens (None: beside the report index).
    web_bind: str = "127.0.0.1:8090"
    web_workers: int = 2
    web_tokens: Path | None = None
    # Browser sessions (processor/web/signin.py): seconds one lasts; Secure cookie always.
    web_session_max_age: int = 14 * 24 * 3600
    web_secure_cookie: bool = False

    @classmethod
    def load(
        cls,
        config_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        flags: Mapping[str, tuple[Any, str]] | None = None,
    ) -> Settings:
        """Flags > environment > configuration file > defaults. ``flags`` maps Settings field
        names to (value, flag name) for the flags given."""
        keyed = {FIELD_KEYS[name]: given for name, given in (flags or {}).items()}
        return cls.from_configuration(
            configuration.load(config_file=config_file, environ=environ, flags=keyed)
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The environment and defaults only (no configuration file), as a library caller
        or a test wants them."""
        env = dict(os.environ if environ is None else environ)
        env.pop(configuration.CONFIG_ENV, None)
        return cls.from_configuration(
            configuration.load(environ=env, cwd=Path("/nonexistent-crashproc-config"))
        )

    @classmethod
    def from_configuration(cls, config: Configuration) -> Settings:
        values: dict[str, Any] = {}
        for name, key in FIELD_KEYS.items():
            value = config[key]
            if value is None and name == "workers":
                continue  # one per CPU
            if value is not None and name in _PATH_FIELDS:
                value = Path(value)
            values[name] = value
        settings = cls(**values)
        settings.configuration = config
        return settings

    def __post_init__(self) -> None:
        # The configuration these settings came from, for error messages naming where a
        # value was set (None when built in code).
        self.configuration: Configuration | None = None

    def check(self) -> None:
        """Every field against its declaration (for settings built or changed in code)."""
        for name, key in FIELD_KEYS.items():
            value = getattr(self, name)
            configuration.check_value(key, value, origin=f"setting {key}")

    def walk_limits(self) -> Any:
        """The stackwalker caps as a stackwalk.limits.WalkLimits (0: no cap)."""
        from stackwalk.limits import WalkLimits

        return WalkLimits(
            max_threads=self.stackwalker_max_threads,
            max_frames_per_thread=self.stackwalker_max_frames_per_thread,
            max_total_frames=self.stackwalker_max_total_frames,
            max_json_size=self.stackwalker_max_json_size,
        )

    def origin(self, name: str) -> str:
        """Where a field's value was set: a file line, a variable, a flag, or the default."""
        key = FIELD_KEYS[name]
        return self.configuration.origin(key) if self.configuration else f"setting {key}"

    def check_resources(self) -> None:
        """Raise ConfigError for a path that processing needs but that is missing, before
        any crash is touched (a missing symbols store would otherwise cost every crash its
        symbols, silently)."""
        self.check()
        for name in RESOURCE_FIELDS:
            value = getattr(self, name)
            for path in value if isinstance(value, list) else [value]:
                if path is not None and not os.path.exists(os.path.expanduser(path)):
                    raise ConfigError(
                        f"{self.origin(name)}: {FIELD_KEYS[name]}: {path} does not exist"
                    )
