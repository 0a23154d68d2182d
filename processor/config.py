"""Processor settings: defaults for one machine, overridable from the environment and flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ENV_PREFIX = "CRASHPROC_"
# auto: the external command when it is found, else the built-in one.
STACKWALKER_MODES = ("auto", "builtin", "external", "none")
METRICS_BACKENDS = ("none", "logging", "statsd", "datadog")


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it."""


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name} must be an integer") from None


def _float(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name} must be a number") from None


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


@dataclass
class Settings:
    """Everything a pipeline needs to be built; every field has a working default."""

    # Directory holding raw_crash.schema.yaml and processed_crash.schema.yaml (None: bundled).
    schema_dir: Path | None = None
    # Dotted paths of extra Rule classes, run before signature generation.
    extra_rules: list[str] = field(default_factory=list)
    # Local table (JSON or CSV) of beta/aurora versions by build id (None: an empty table).
    beta_version_table: Path | None = None
    # Annotation values longer than this are not copied into the processed crash.
    max_annotation_size: int = 1024 * 1024
    hostname: str | None = None
    # auto: the external command when it is found, else builtin; external: it must be found;
    # builtin: the Python stackwalker in-process (sharing the symbol caches); none: stored
    # outputs only.
    stackwalker: str = "auto"
    stackwalker_command: str = "minidump-stackwalk"
    stackwalker_timeout: float = 120.0
    symbols_paths: list[str] = field(default_factory=list)
    symbols_urls: list[str] = field(default_factory=list)
    symbols_cache: Path | None = None
    # Hosts a symbols server may redirect code-info lookups to (its own host always counts).
    symbols_trusted_hosts: list[str] = field(default_factory=list)
    # Seconds for one symbol file download, retries included; a slower server is "timeout".
    symbols_timeout: float = 300.0
    # Crash storage (a directory, file:PATH or s3://bucket/prefix) and crash queue
    # (sqlite:PATH or redis://host:port/db) of the submit, daemon and reprocess commands.
    storage: str = "./var/crashes"
    queue: str = "sqlite:./var/queue.sqlite"
    # S3-compatible endpoint for s3:// storage (None: AWS, or boto3's own configuration).
    s3_endpoint_url: str | None = None
    # Daemon worker processes; stackwalking is CPU-bound, so one per core.
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Seconds a claimed crash stays leased without a heartbeat (a dead worker's crashes come
    # back after this), attempts before a crash is dead-lettered, first retry delay.
    queue_lease: float = 60.0
    queue_max_attempts: int = 3
    queue_retry_delay: float = 5.0
    # Seconds one crash may take before its worker is killed and the crash retried.
    job_timeout: float = 900.0
    # Seconds between the daemon's progress log lines.
    daemon_log_interval: float = 60.0
    # Where metrics go (none, logging, statsd, datadog) and the statsd agent to send them to.
    metrics: str = "none"
    statsd_host: str = "localhost"
    statsd_port: int = 8125
    # Sentry DSN for error reports (None: no reporting). It holds a key: never shown.
    sentry_dsn: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls()

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value if value not in (None, "") else None

        if (value := get("SCHEMA_DIR")) is not None:
            settings.schema_dir = Path(value)
        if (value := get("EXTRA_RULES")) is not None:
            settings.extra_rules = _list(value)
        if (value := get("BETA_VERSION_TABLE")) is not None:
            settings.beta_version_table = Path(value)
        if (value := get("MAX_ANNOTATION_SIZE")) is not None:
            settings.max_annotation_size = _int("MAX_ANNOTATION_SIZE", value)
        if (value := get("HOSTNAME")) is not None:
            settings.hostname = value
        if (value := get("STACKWALKER")) is not None:
            settings.stackwalker = value
        if (value := get("STACKWALKER_COMMAND")) is not None:
            settings.stackwalker_command = value
        if (value := get("STACKWALKER_TIMEOUT")) is not None:
            settings.stackwalker_timeout = float(_int("STACKWALKER_TIMEOUT", value))
        if (value := get("SYMBOLS_PATH")) is not None:
            settings.symbols_paths = _list(value)
        if (value := get("SYMBOLS_URL")) is not None:
            settings.symbols_urls = _list(value)
        if (value := get("SYMBOLS_CACHE")) is not None:
            settings.symbols_cache = Path(value)
        if (value := get("SYMBOLS_TRUSTED_HOSTS")) is not None:
            settings.symbols_trusted_hosts = _list(value)
        if (value := get("SYMBOLS_TIMEOUT")) is not None:
            settings.symbols_timeout = float(_int("SYMBOLS_TIMEOUT", value))
        for name in ("STORAGE", "QUEUE", "S3_ENDPOINT_URL", "METRICS", "STATSD_HOST", "SENTRY_DSN"):
            if (value := get(name)) is not None:
                setattr(settings, name.lower(), value)
        for name in ("WORKERS", "QUEUE_MAX_ATTEMPTS", "STATSD_PORT"):
            if (value := get(name)) is not None:
                setattr(settings, name.lower(), _int(name, value))
        for name in ("QUEUE_LEASE", "QUEUE_RETRY_DELAY", "JOB_TIMEOUT", "DAEMON_LOG_INTERVAL"):
            if (value := get(name)) is not None:
                setattr(settings, name.lower(), _float(name, value))
        settings.check()
        return settings

    def check(self) -> None:
        if self.workers < 1 or self.queue_max_attempts < 1:
            raise ConfigError("workers and queue_max_attempts must be at least 1")
        if min(self.queue_lease, self.job_timeout, self.daemon_log_interval) <= 0:
            raise ConfigError("queue_lease, job_timeout and daemon_log_interval must be > 0")
        if self.queue_retry_delay < 0:
            raise ConfigError("queue_retry_delay must not be negative")
        if self.metrics not in METRICS_BACKENDS:
            raise ConfigError(
                f"metrics must be one of {', '.join(METRICS_BACKENDS)}, not {self.metrics!r}"
            )
        if not 0 < self.statsd_port < 65536:
            raise ConfigError("statsd_port must be a port number (1-65535)")
        if self.stackwalker not in STACKWALKER_MODES:
            raise ConfigError(
                f"stackwalker must be one of {', '.join(STACKWALKER_MODES)}, not {self.stackwalker!r}"
            )
