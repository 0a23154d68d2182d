"""Rules that turn Mozilla crash annotations into processed-crash fields.

Each rule reads a few annotations (or fields the schema-driven copy already put in the
processed crash), normalises them and writes Socorro's processed field names. Annotation
values come from the internet: a value of the wrong type gets a note naming the annotation
(never quoting the value, since notes are public) and is treated as absent.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from processor.metrics import METRICS
from processor.resources.expiring_cache import MISSING, ExpiringCache
from processor.resources.versionlookup import TableVersionLookup, VersionLookup
from processor.rules.base import AnnotationRule, Rule
from processor.rules.safe import is_int
from processor.status import Status

logger = logging.getLogger(__name__)

#: Largest value a signed 64-bit integer field (Elasticsearch ``long``) can hold.
MAXINT = 2**63 - 1


def annotation_str(raw_crash: Mapping[str, Any], name: str, status: Status) -> str | None:
    """The annotation ``name`` as a string, or None when it is absent.

    Annotations are strings on the wire, but a JSON ``extra`` blob can carry numbers,
    booleans or objects; such a value gets a note and is treated as absent.
    """
    value = raw_crash.get(name)
    if value is None or isinstance(value, str):
        return value
    status.add_note(f"{name} has a non-string value")
    return None


def parse_int(value: Any) -> int | None:
    """``value`` as an int if it is an int or a string holding one, else None.

    Strings follow ``int()`` (surrounding whitespace allowed); bools are not numbers.
    """
    if is_int(value):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def fits_int64(number: int) -> bool:
    return -MAXINT - 1 <= number <= MAXINT


class ProcessTypeRule(Rule):
    """``process_type`` from ``ProcessType``; the parent process sends none.

    Some reporters send "main" for the parent process; it is stored as "parent" so both
    spellings search the same.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        value = annotation_str(raw_crash, "ProcessType", status)
        processed_crash["process_type"] = "parent" if value in (None, "main") else value


class AccessibilityRule(Rule):
    """``accessibility`` is true only when the accessibility service was ``Active``."""

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status: Status) -> None:
        processed_crash["accessibility"] = raw_crash.get("Accessibility") == "Active"


class PluginRule(Rule):
    """Plugin crashes (legacy NPAPI) name the plugin; other crashes have no plugin fields."""

    FIELDS = (
        ("plugin_filename", "PluginFilename"),
        ("plugin_name", "PluginName"),
        ("plugin_version", "PluginVersion"),
    )

    def predicate(self, raw_crash, dumps, processed_crash, tmpdir, status: Status) -> bool:
        return raw_crash.get("ProcessType") == "plugin"

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status: Status) -> None:
        for field, annotation in self.FIELDS:
            value = raw_crash.get(annotation, "")
            processed_crash[field] = value if isinstance(value, str) else ""


class MajorVersionRule(Rule):
    """``major_version``: the integer before the first dot of ``Version``, else 0.

    Lets searches and graphs group "120.0", "120.0.1" and "120.0b3" together.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        version = annotation_str(raw_crash, "Version", status) or ""
        major = parse_int(version.split(".", 1)[0])
        processed_crash["major_version"] = major if major is not None and fits_int64(major) else 0


class ConvertModuleSignatureInfoRule(Rule):
    """Turn a ``ModuleSignatureInfo`` sent as a JSON value into its JSON text, in the raw crash.

    Clients that sent their annotations as one JSON blob appended ``ModuleSignatureInfo`` as an
    object, while every other client sends a string holding JSON. The stackwalker (through
    ``--evil-json``) and the raw crash schema expect the string, so any non-string value is
    encoded with ``json.dumps`` as Socorro does (bug 1607806). It runs before the raw crash
    schema check, which would otherwise note the object as a wrong type.
    """

    ANNOTATION = "ModuleSignatureInfo"

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return not isinstance(raw_crash.get(self.ANNOTATION, ""), str)

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        raw_crash[self.ANNOTATION] = json.dumps(raw_crash[self.ANNOTATION])


class ESRVersionRewrite(Rule):
    """Append "esr" to ``version`` for the ESR channel.

    ESR builds report the plain release version; the suffix keeps ESR crashes apart from
    release crashes of the same number. A version that already ends in "esr" is left alone,
    so running the rule again (reprocessing works on the stored crash) cannot double it.
    """

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return processed_crash.get("release_channel") == "esr"

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        version = processed_crash.get("version")
        if not isinstance(version, str):
            status.add_note("'version' missing from esr release processed_crash")
            return
        if not version.endswith("esr"):
            processed_crash["version"] = version + "esr"


class SubmittedFromRule(Rule):
    """``submitted_from`` and the deprecated ``submitted_from_infobar``.

    Old clients send ``SubmittedFromInfobar`` ("1", or "true"/JSON true from the JSON blob
    format); newer ones send ``SubmittedFrom`` (Infobar, Auto, Client, CrashedTab, ...).
    """

    TRUE_VALUES = ("1", "true", True)

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        if "SubmittedFromInfobar" in raw_crash:
            from_infobar = raw_crash["SubmittedFromInfobar"] in self.TRUE_VALUES
            submitted_from = "Infobar" if from_infobar else "Unknown"
        else:
            value = annotation_str(raw_crash, "SubmittedFrom", status)
            submitted_from = "Unknown" if value is None else value
            from_infobar = submitted_from == "Infobar"
        processed_crash["submitted_from"] = submitted_from
        processed_crash["submitted_from_infobar"] = from_infobar


class AddonsRule(Rule):
    """``addons_checked`` from ``EMCheckCompatibility`` and the ``addons`` list.

    ``Add-ons`` is a comma-separated list of URL-encoded ``id:version`` items; an item without
    a version gets ``:NO_VERSION`` so every item has the same shape for searching.
    ``addons_checked`` is None when the annotation is absent.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        processed_crash["addons_checked"] = None
        if "EMCheckCompatibility" in raw_crash:
            checked = raw_crash["EMCheckCompatibility"]
            # JSON true arrives as a bool; str(True) is "True", so lowercase after str().
            processed_crash["addons_checked"] = str(checked).lower() == "true"

        addons = annotation_str(raw_crash, "Add-ons", status)
        if not addons:
            processed_crash["addons"] = []
            return
        processed_crash["addons"] = [
            unquote_plus(item if ":" in item else item + ":NO_VERSION")
            for item in addons.split(",")
        ]


class ThemePrettyNameRule(Rule):
    """Give the default theme's opaque add-on id a readable name in ``addons``.

    The default theme is in nearly every Firefox crash report, under an id nobody
    recognises. Must run after AddonsRule. Items keep their ``:version`` part.
    """

    CONVERSIONS = {
        "{972ce4c6-7e08-4474-a285-3208198ce6fd}": (
            "{972ce4c6-7e08-4474-a285-3208198ce6fd} (default theme)"
        ),
    }

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        addons = processed_crash.get("addons")
        if not isinstance(addons, list):
            return False
        return any(
            isinstance(addon, str) and addon.split(":", 1)[0] in self.CONVERSIONS
            for addon in addons
        )

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        addons = processed_crash["addons"]
        for index, addon in enumerate(addons):
            if not isinstance(addon, str):
                continue
            addon_id, colon, version = addon.partition(":")
            if addon_id in self.CONVERSIONS:
                addons[index] = self.CONVERSIONS[addon_id] + colon + version


class DistributionIdRule(Rule):
    """``distribution_id``: which vendor built the product (bug 1732414).

    Taken from ``DistributionID``, else from the Telemetry environment's
    ``partner.distributionId``. "unknown" when neither says anything; "mozilla" when the value
    is null or empty, which is what Mozilla's own builds send.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        distribution_id = annotation_str(raw_crash, "DistributionID", status)
        if not distribution_id:
            distribution_id = self._from_telemetry(raw_crash.get("TelemetryEnvironment"))
        processed_crash["distribution_id"] = distribution_id or "mozilla"

    @staticmethod
    def _from_telemetry(environment: Any) -> str | None:
        """partner.distributionId: "unknown" if absent or not a string, None if null."""
        if isinstance(environment, str):
            try:
                environment = json.loads(environment)
            except (ValueError, RecursionError):
                return "unknown"
        partner = environment.get("partner") if isinstance(environment, dict) else None
        if not isinstance(partner, dict) or "distributionId" not in partner:
            return "unknown"
        value = partner["distributionId"]
        if value is None or isinstance(value, str):
            return value
        return "unknown"


class UtilityActorsNameRule(Rule):
    """``utility_actors_name``: the comma-separated ``UtilityActorsName`` as a list.

    Utility processes host several "actors" (audio decoders, Windows utils, ...); a list lets
    Super Search match each one (bug 1788681). Blank items are dropped.
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        value = annotation_str(raw_crash, "UtilityActorsName", status)
        if value is None:
            return
        processed_crash["utility_actors_name"] = [
            name.strip() for name in value.split(",") if name.strip()
        ]


def _epoch_from_isoformat(text: str) -> int | None:
    """Seconds since the epoch of an ISO 8601 timestamp (naive means UTC), or None.

    None also for instants whose UTC date falls outside years 1-9999 (e.g. year 1 at +01:00),
    since they could not be written back as a date.
    """
    try:
        moment = datetime.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        return int(moment.astimezone(datetime.UTC).timestamp())
    except (ValueError, OverflowError):
        return None


class DatesAndTimesRule(Rule):
    """The crash's timestamps and the durations derived from them.

    Writes ``submitted_timestamp`` and ``date_processed`` (both the collector's receipt time,
    an ISO string), ``crash_time`` (client epoch seconds; the receipt time when the client
    sent none), ``client_crash_date`` (ISO form of ``crash_time``), ``install_age`` and
    ``uptime`` (seconds from install and from startup to the crash) and ``last_crash``
    (seconds since the previous crash, None when unknown or too large to store).
    ``startup_time`` comes from the processed crash, where the copy rule put ``StartupTime``
    (an int, or a string holding one).
    """

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        submitted_epoch = self._submitted(raw_crash, processed_crash, status)
        crash_time = self._crash_time(raw_crash, submitted_epoch, status)
        processed_crash["crash_time"] = crash_time
        if crash_time == submitted_epoch:
            status.add_note("client_crash_date is unknown")
        processed_crash["client_crash_date"] = datetime.datetime.fromtimestamp(
            crash_time, datetime.UTC
        ).isoformat()

        # The process must have started before the crash, and been installed before that.
        # The copy rule stores an int; a string holding one (a processed crash made
        # elsewhere) counts too, as Socorro's int() takes it.
        startup_time = parse_int(processed_crash.get("startup_time", crash_time))
        if startup_time is None or not fits_int64(startup_time):
            startup_time = crash_time
        install_time = startup_time
        if "InstallTime" in raw_crash:
            parsed = parse_int(raw_crash["InstallTime"])
            if parsed is None or not fits_int64(parsed):
                status.add_note('non-integer value of "InstallTime"')
                parsed = 0
            install_time = parsed
        processed_crash["install_age"] = crash_time - install_time
        processed_crash["uptime"] = max(0, crash_time - startup_time)
        processed_crash["last_crash"] = self._last_crash(raw_crash, status)

    @staticmethod
    def _submitted(
        raw_crash: dict[str, Any], processed_crash: dict[str, Any], status: Status
    ) -> int:
        """Copy the collector's timestamp and return it as epoch seconds (0 if unusable)."""
        submitted = raw_crash.get("submitted_timestamp")
        if not isinstance(submitted, str):
            status.add_note("WARNING: raw_crash missing submitted_timestamp")
            return 0
        processed_crash["submitted_timestamp"] = submitted
        processed_crash["date_processed"] = submitted
        epoch = _epoch_from_isoformat(submitted)
        if epoch is None:
            status.add_note("WARNING: raw_crash has a malformed submitted_timestamp")
            return 0
        return epoch

    @staticmethod
    def _crash_time(raw_crash: dict[str, Any], submitted_epoch: int, status: Status) -> int:
        """``CrashTime`` cut to 10 characters (which keeps it a valid date); 0 if not an int."""
        if "CrashTime" not in raw_crash:
            status.add_note("WARNING: raw_crash missing CrashTime")
            return submitted_epoch
        value = raw_crash["CrashTime"]
        crash_time = parse_int(str(value)[:10]) if is_int(value) or isinstance(value, str) else None
        if crash_time is None:
            status.add_note('non-integer value of "CrashTime"')
            return 0
        return crash_time

    @staticmethod
    def _last_crash(raw_crash: dict[str, Any], status: Status) -> int | None:
        if "SecondsSinceLastCrash" not in raw_crash:
            return None
        last_crash = parse_int(raw_crash["SecondsSinceLastCrash"])
        if last_crash is None:
            status.add_note('non-integer value of "SecondsSinceLastCrash"')
            return None
        if not fits_int64(last_crash):
            status.add_note('"SecondsSinceLastCrash" larger than MAXINT - set to NULL')
            return None
        return last_crash


class MozCrashReasonRule(AnnotationRule):
    """``moz_crash_reason_raw`` (protected) and the public ``moz_crash_reason``.

    MozCrashReason is meant to be a constant string from the code, but some reasons are built
    from Rust panic messages that embed runtime data (module paths, string contents, script
    source). Reasons with those known prefixes are replaced in the public field.
    """

    ANNOTATION = "MozCrashReason"
    SANITIZED = "sanitized--see moz_crash_reason_raw"
    DISALLOWED_PREFIXES = (
        "Failed to load module",
        "byte index",
        "do not use eval with system privileges",
    )

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        reason = annotation_str(raw_crash, self.ANNOTATION, status)
        if reason is None:
            return
        processed_crash["moz_crash_reason_raw"] = reason
        processed_crash["moz_crash_reason"] = (
            self.SANITIZED if reason.startswith(self.DISALLOWED_PREFIXES) else reason
        )


class PHCRule(Rule):
    """Fields of the probabilistic heap checker (PHC) annotations, all protected (bug 1523278).

    ``PHCBaseAddress`` arrives in decimal and is stored in hex, the way addresses are read;
    ``PHCUsableSize`` becomes an int; the kind and the two stacks (comma-separated frame
    addresses) are copied as strings. A value that does not convert is left out, with a note.
    """

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        return "PHCKind" in raw_crash

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        for annotation, key in (
            ("PHCKind", "phc_kind"),
            ("PHCAllocStack", "phc_alloc_stack"),
            ("PHCFreeStack", "phc_free_stack"),
        ):
            value = annotation_str(raw_crash, annotation, status)
            if value is not None:
                processed_crash[key] = value

        if "PHCBaseAddress" in raw_crash:
            address = parse_int(raw_crash["PHCBaseAddress"])
            if address is not None and 0 <= address < 2**64:
                processed_crash["phc_base_address"] = hex(address)
            else:
                status.add_note("PHCBaseAddress is not a valid address")

        if "PHCUsableSize" in raw_crash:
            size = parse_int(raw_crash["PHCUsableSize"])
            if size is not None and 0 <= size <= MAXINT:
                processed_crash["phc_usable_size"] = size
            else:
                status.add_note("PHCUsableSize is not a valid size")


class BetaVersionRule(Rule):
    """Replace the version of beta and aurora builds by the real one, e.g. "120.0b3".

    Those builds report the version they will have on release. The real version is found per
    (product, channel, build id) through a ``VersionLookup``; answers are cached in process
    (24 hours, as they never change) and so are misses (30 minutes, as the release records may
    catch up). With no answer the version gets a "b0" suffix, so it at least sorts as a beta.
    Firefox aurora builds after 2017-06-01 are Developer Edition builds, recorded under the
    product "DevEdition".
    """

    CACHE_MAX_SIZE = 5000
    MISS_TTL = 30 * 60
    HIT_TTL = 24 * 60 * 60
    SUPPORTED_PRODUCTS = ("Firefox", "Thunderbird")
    CHANNELS = ("beta", "aurora")
    DEVEDITION_AFTER_BUILD = "20170601"

    def __init__(self, version_lookup: VersionLookup | None = None) -> None:
        self.version_lookup: VersionLookup = (
            version_lookup if version_lookup is not None else TableVersionLookup()
        )
        self.cache = ExpiringCache(max_size=self.CACHE_MAX_SIZE, default_ttl=self.MISS_TTL)

    def __repr__(self) -> str:
        return f"<BetaVersionRule version_lookup={self.version_lookup!r}>"

    def predicate(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> bool:
        channel = processed_crash.get("release_channel")
        return (
            processed_crash.get("product") in self.SUPPORTED_PRODUCTS
            and isinstance(channel, str)
            and channel.lower() in self.CHANNELS
        )

    def action(
        self,
        raw_crash: dict[str, Any],
        dumps: Mapping[str, str],
        processed_crash: dict[str, Any],
        tmpdir: str,
        status: Status,
    ) -> None:
        product = processed_crash["product"]
        channel = processed_crash["release_channel"].lower()
        build_id = processed_crash.get("build")
        build_id = str(build_id).strip() if isinstance(build_id, str) or is_int(build_id) else ""

        if build_id:
            real_version = self._real_version(product, channel, build_id)
            if real_version:
                processed_crash["version"] = real_version
                return

        version = processed_crash.get("version")
        if not isinstance(version, str):
            status.add_note(f"release channel is {channel} but the version is missing")
            return
        processed_crash["version"] = version + "b0"
        status.add_note(
            f'release channel is {channel} but no version data was found - added "b0" '
            "suffix to version number"
        )

    def _real_version(self, product: str, channel: str, build_id: str) -> str | None:
        if (product, channel) == ("Firefox", "aurora") and build_id > self.DEVEDITION_AFTER_BUILD:
            product = "DevEdition"

        key = (product, channel, build_id)
        cached = self.cache.lookup(key)
        if cached is not MISSING:
            METRICS.incr("processor.betaversionrule.cache", tags=["result:hit"])
            return cached
        METRICS.incr("processor.betaversionrule.cache", tags=["result:miss"])

        try:
            version = self.version_lookup.lookup(product, channel, build_id)
        except Exception:
            # A lookup backend failing (a file gone, a service down) must not lose the crash;
            # it is not cached, so the next crash of this build asks again.
            logger.exception("betaversionrule: version lookup raised")
            METRICS.incr("processor.betaversionrule.lookup", tags=["result:fail"])
            return None

        if not isinstance(version, str) or not version.strip():
            METRICS.incr("processor.betaversionrule.lookup", tags=["result:fail"])
            self.cache.set(key, None, ttl=self.MISS_TTL)
            return None
        METRICS.incr("processor.betaversionrule.lookup", tags=["result:success"])
        self.cache.set(key, version, ttl=self.HIT_TTL)
        return version

    def close(self) -> None:
        self.cache.clear()
