"""Rulesets as data: every rule loads, the order constraints hold, extra rules plug in."""

from __future__ import annotations

import pytest

from processor.config import ConfigError, Settings
from processor.rules.base import Rule
from processor.rulesets import RulesetError, build_rulesets, load_rulesets

ISSUE_RULES = [
    "DeNullRule",
    "DeNoneRule",
    "CrashReportKeysRule",
    "CollectorMetadataRule",
    "ConvertModuleSignatureInfoRule",
    "CopyFromRawCrashRule",
    "IdentifierRule",
    "ProcessTypeRule",
    "MajorVersionRule",
    "ESRVersionRewrite",
    "SubmittedFromRule",
    "AddonsRule",
    "DatesAndTimesRule",
    "JavaStackTraceRule",
    "MozCrashReasonRule",
    "OutOfMemoryBinaryRule",
    "MemoryReportExtraction",
    "PHCRule",
    "BreadcrumbsRule",
    "MacBootArgsRule",
    "MacCrashInfoRule",
    "UtilityActorsNameRule",
    "ReportTypeRule",
    "CPUInfoRule",
    "AndroidCPUInfoRule",
    "OSInfoRule",
    "AndroidOSInfoRule",
    "PlatformInfoRule",
    "OSPrettyVersionRule",
    "DistributionIdRule",
    "CrashingThreadInfoRule",
    "CrashInconsistenciesRule",
    "PossibleBitFlipsRule",
    "HasGuardPageAccessRule",
    "TruncateStacksRule",
    "ThreadCountRule",
    "TopMostFilesRule",
    "ModulesInStackRule",
    "MissingSymbolsRule",
    "ModuleURLRewriteRule",
    "SoftErrorsRule",
    "ThemePrettyNameRule",
    "MinidumpSha256HashRule",
    "ShutDownHangCrashingThreadRule",
    "BetaVersionRule",
    "SignatureGeneratorRule",
]


class ExtraRule(Rule):
    def action(self, raw_crash, dumps, processed_crash, tmpdir, status):
        processed_crash["extra"] = True


@pytest.fixture(scope="module")
def rulesets():
    return build_rulesets(Settings())


def names(rules):
    return [type(rule).__name__ for rule in rules]


def test_every_rule_of_the_issue_is_in_the_default_ruleset_once(rulesets):
    default = names(rulesets["default"])
    for rule in ISSUE_RULES:
        assert default.count(rule) == 1, rule


def test_order_constraints(rulesets):
    default = names(rulesets["default"])

    def before(a, b):
        return default.index(a) < default.index(b)

    assert default[:2] == ["DeNullRule", "DeNoneRule"]
    assert before("CopyFromRawCrashRule", "DatesAndTimesRule")
    # Where Socorro runs it: after the collector data, before the raw crash is checked and
    # copied (and before the stackwalker reads the annotation through --evil-json).
    assert before("CollectorMetadataRule", "ConvertModuleSignatureInfoRule")
    assert before("ConvertModuleSignatureInfoRule", "RawCrashSchemaRule")
    assert before("ConvertModuleSignatureInfoRule", "StackwalkRule")
    assert before("StackwalkRule", "CrashingThreadInfoRule")
    assert before("AndroidOSInfoRule", "PlatformInfoRule")
    assert before("PlatformInfoRule", "OSPrettyVersionRule")
    assert default[-3:] == [
        "SignatureGeneratorRule",
        "ShutDownHangCrashingThreadRule",
        "ProcessedWithRule",
    ]


def test_regenerate_signature_runs_only_the_signature_rule(rulesets):
    assert names(rulesets["regenerate_signature"]) == [
        "SignatureGeneratorRule",
        "ProcessedWithRule",
    ]


def test_extra_rules_run_just_before_signature_generation():
    path = f"{__name__}.ExtraRule"
    default = names(build_rulesets(Settings(extra_rules=[path]))["default"])
    assert default.index("ExtraRule") == default.index("SignatureGeneratorRule") - 1
    entries = load_rulesets(Settings())["default"].entries
    assert None in entries, "the default ruleset marks where extra rules go"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("NoDots", "neither a dotted path"),
        ("processor.nonexistent.Rule", "cannot load rule"),
        ("processor.config.Settings", "is not a Rule class"),
    ],
)
def test_bad_extra_rules_are_clear_errors(path, message):
    with pytest.raises(RulesetError, match=message) as raised:
        build_rulesets(Settings(extra_rules=[path]))
    assert str(raised.value).startswith("setting processor.extra_rules")


def test_settings_from_environment(tmp_path):
    settings = Settings.from_env(
        {
            "CRASHPROC_SCHEMA_DIR": str(tmp_path),
            "CRASHPROC_EXTRA_RULES": "a.B, c.D,",
            "CRASHPROC_MAX_ANNOTATION_SIZE": "10",
            "CRASHPROC_HOSTNAME": "worker-1",
            "CRASHPROC_BETA_VERSION_TABLE": "",
        }
    )
    assert settings.schema_dir == tmp_path
    assert settings.extra_rules == ["a.B", "c.D"]
    assert settings.max_annotation_size == 10
    assert settings.hostname == "worker-1"
    assert settings.beta_version_table is None
    with pytest.raises(
        ConfigError, match=r"CRASHPROC_MAX_ANNOTATION_SIZE: processor\.max_annotation_size must be"
    ):
        Settings.from_env({"CRASHPROC_MAX_ANNOTATION_SIZE": "big"})
