"""Rulesets as YAML files: checked at start-up with file and line, overridable from a
directory, and open to rules a third-party package registers as entry points."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path

import pytest

from processor.cli import run
from processor.config import Settings
from processor.crashdir import load_crash_dir
from processor.rulesets import RulesetError, build_rulesets, load_rulesets, read_ruleset
from processor.runner import CrashProcessor

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "crashes" / "no-minidump"

PLUGIN_MODULE = '''
from processor.rules.base import Rule


class StampRule(Rule):
    """A third party's rule: marks the crash it saw."""

    def __init__(self, max_value_size=None):
        self.limit = max_value_size

    def action(self, raw_crash, dumps, processed_crash, tmpdir, status):
        processed_crash["plugin_stamp"] = f"stamped (limit {self.limit})"
        status.add_note("crashproc-stamp saw this crash")
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A tiny installed distribution ``crashproc-stamp`` registering ``stamp`` in the
    crashproc.rules entry-point group (a directory on sys.path with its dist-info)."""
    site = tmp_path / "site"
    (site / "crashproc_stamp").mkdir(parents=True)
    (site / "crashproc_stamp" / "__init__.py").write_text(PLUGIN_MODULE)
    info = site / "crashproc_stamp-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crashproc-stamp\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[crashproc.rules]\nstamp = crashproc_stamp:StampRule\n")
    monkeypatch.syspath_prepend(str(site))
    yield "stamp"
    sys.modules.pop("crashproc_stamp", None)


def write_rulesets(directory: Path, **files: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(textwrap.dedent(text))
    return directory


def test_the_bundled_rulesets_read_with_their_origins():
    rulesets = load_rulesets(Settings())
    assert sorted(rulesets) == ["default", "regenerate_signature"]
    default = rulesets["default"]
    assert default.walks and not rulesets["regenerate_signature"].walks
    first = default.entries[0]
    assert first.name == "processor.rules.general.DeNullRule"
    assert first.origin.endswith("processor/rulesets/default.yaml:8")


def test_a_plugin_rule_named_in_a_ruleset_runs(plugin, tmp_path):
    directory = write_rulesets(
        tmp_path / "rulesets",
        stamped="""
            # A ruleset of our own: the bundled copy step, then the plugin's rule.
            rules:
              - rule: processor.rules.general.DeNullRule
              - rule: stamp
                with:
                  max_value_size: max_annotation_size
        """,
    )
    settings = Settings(rulesets_dir=directory, stackwalker="none", max_annotation_size=77)
    processor = CrashProcessor(settings)
    processed = processor.process(load_crash_dir(SAMPLE), "stamped")
    assert processed["plugin_stamp"] == "stamped (limit 77)"
    assert "crashproc-stamp saw this crash" in processed["processor_notes"]
    assert processed["processed_with"]["ruleset"] == "stamped"
    # The bundled rulesets are still there beside it.
    assert {"default", "regenerate_signature", "stamped"} <= set(processor.ruleset_names)


def test_a_plugin_rule_as_an_extra_rule(plugin):
    default = build_rulesets(Settings(extra_rules=[plugin]))["default"]
    names = [type(rule).__name__ for rule in default]
    assert names.index("StampRule") == names.index("SignatureGeneratorRule") - 1


def test_a_directory_replaces_a_bundled_ruleset(tmp_path):
    directory = write_rulesets(
        tmp_path / "rulesets",
        regenerate_signature="""
            rules:
              - rule: processor.rules.general.DeNoneRule
        """,
    )
    built = build_rulesets(Settings(rulesets_dir=directory))
    assert [type(r).__name__ for r in built["regenerate_signature"]] == [
        "DeNoneRule",
        "ProcessedWithRule",
    ]


@pytest.mark.parametrize(
    "text, line, message",
    [
        (
            "rules:\n  - rule: processor.rules.general.DeNullRule\n  - rule: processor.rules.general.DeNulRule\n",
            3,
            "cannot load rule 'processor.rules.general.DeNulRule'",
        ),
        ("rules:\n  - rule: stmap\n", 2, "rule 'stmap' is neither a dotted path"),
        (
            "rules:\n  - rule: processor.rules.general.DeNullRule\n    with:\n      x: nothing\n",
            2,
            "unknown resource 'nothing' for 'x'",
        ),
        (
            "rules:\n  - rule: processor.rules.general.DeNullRule\n    with:\n      schema: processed_schema\n",
            2,
            "got an unexpected keyword argument 'schema'",
        ),
        ("rules:\n  - rule: processor.rules.general.DeNullRule\n  - ruel: x\n", 3, "rules/1:"),
        ("rulez: []\n", 1, "unknown key"),
        ("rules:\n  - extra_rules\n  - extra_rules\n", 3, "extra_rules appears twice"),
        ("rules: [\n", 2, "not valid YAML"),
    ],
)
def test_a_broken_ruleset_fails_at_start_up_naming_file_and_line(tmp_path, text, line, message):
    directory = tmp_path / "rulesets"
    directory.mkdir()
    (directory / "mine.yaml").write_text(text)
    with pytest.raises(RulesetError) as raised:
        CrashProcessor(Settings(rulesets_dir=directory, stackwalker="none"))
    assert str(raised.value).startswith(f"{directory / 'mine.yaml'}:{line}: ")
    assert message in str(raised.value)


def test_a_command_refuses_a_broken_ruleset_before_processing(tmp_path, capsys, monkeypatch):
    directory = write_rulesets(tmp_path / "rulesets", default="rules:\n  - rule: nope\n")
    monkeypatch.setenv("CRASHPROC_RULESETS", str(directory))
    out = io.StringIO()
    status = run(["process", "--stackwalker", "none", str(SAMPLE)], out=out)
    assert status == 2
    err = capsys.readouterr().err
    assert f"{directory / 'default.yaml'}:2: rule 'nope'" in err
    assert out.getvalue() == ""


def test_read_ruleset_keeps_comments_out_and_order_in():
    ruleset = read_ruleset(REPO / "processor" / "rulesets" / "default.yaml")
    names = [e.name.rsplit(".", 1)[-1] for e in ruleset.entries if e is not None]
    assert names.index("StackwalkRule") < names.index("SymbolicationRule")
    assert names[-1] == "ShutDownHangCrashingThreadRule"


def test_rules_list_says_where_each_rule_comes_from(plugin, tmp_path, capsys):
    directory = write_rulesets(
        tmp_path / "rulesets",
        stamped="rules:\n  - rule: processor.rules.general.DeNullRule\n  - rule: stamp\n",
    )
    out = io.StringIO()
    status = run(["rules", "list", "--ruleset", "stamped", "--rulesets", str(directory)], out=out)
    assert status == 0, capsys.readouterr().err
    assert out.getvalue().splitlines() == [
        f"stamped  ({directory / 'stamped.yaml'})",
        "   1  processor.rules.general.DeNullRule  [dotted path]  stamped.yaml:2",
        "   2  stamp  [entry point crashproc_stamp:StampRule (crashproc-stamp 1.2)]  stamped.yaml:3",
        "   3  processor.rules.provenance.ProcessedWithRule  [added to every ruleset]",
    ]
    out = io.StringIO()
    assert run(["rules", "list", "--ruleset", "default"], out=out) == 0
    lines = out.getvalue().splitlines()
    entries = [e for e in load_rulesets(Settings())["default"].entries if e is not None]
    assert len(lines) == 1 + len(entries) + 1  # the header, each rule, the recording rule
    assert run(["rules", "list", "--ruleset", "nope"], out=io.StringIO()) == 2
