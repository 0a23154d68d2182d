"""The crashproc command end to end on the sample crashes in examples/crashes/."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from processor.cli import run
from schemas.library import SCHEMA_DIR, load_schema

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "examples" / "crashes"
SAMPLE_DIRS = sorted(p for p in SAMPLES.iterdir() if (p / "raw_crash.json").is_file())
PROTECTED_VALUES = ("example.com/private", "jane@example.com")


def crashproc(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def processed_samples() -> dict[str, dict]:
    code, out = crashproc("process", *map(str, SAMPLE_DIRS))
    assert code == 0
    crashes = [json.loads(line) for line in out.splitlines()]
    assert len(crashes) == len(SAMPLE_DIRS)
    return {d.name: c for d, c in zip(SAMPLE_DIRS, crashes, strict=True)}


def test_there_are_enough_samples():
    assert len(SAMPLE_DIRS) >= 7


def test_every_sample_validates_against_the_processed_schema(processed_samples):
    schema = load_schema("processed_crash")
    for name, processed in processed_samples.items():
        issues = schema.validate(processed)
        assert issues == [], f"{name}: " + "; ".join(map(str, issues[:10]))


def test_every_sample_raw_crash_is_described_by_the_raw_schema():
    wellformed = [d for d in SAMPLE_DIRS if d.name != "malformed-annotations"]
    code, out = crashproc("schema", "validate", "raw", "--allow-unknown", *map(str, wellformed))
    assert code == 0, out
    code, out = crashproc("schema", "validate", "raw", str(SAMPLES / "malformed-annotations"))
    assert code == 1
    assert "$.Winsock_LSP: expected string, got null" in out
    assert "$: unknown key(s) not in the schema: 'FrobnicatorLevel', 'bad key!'" in out


def test_samples_processed_with_their_facts(processed_samples):
    windows = processed_samples["windows-x86-test-app"]
    assert windows["success"] is True
    assert windows["os_name"] == "Windows NT"
    assert windows["cpu_arch"] == "x86"
    assert windows["crashing_thread"] == 0
    assert windows["reason"] == "EXCEPTION_ACCESS_VIOLATION_WRITE"
    assert windows["product"] == "Firefox"
    no_minidump = processed_samples["no-minidump"]
    assert no_minidump["os_name"] != "Unknown", (
        "annotations fill in platform info without a minidump"
    )
    assert "crash id assigned" in no_minidump["processor_notes"]


def test_malformed_annotations_become_notes_not_failures(processed_samples):
    processed = processed_samples["malformed-annotations"]
    notes = processed["processor_notes"]
    assert "TelemetryEnvironment has malformed JSON" in notes
    assert "annotations not in the raw crash schema" in notes
    assert "failed:" not in notes, "no rule crashed on bad values"


def test_public_output_never_carries_protected_values():
    code, out = crashproc("process", "--public", *map(str, SAMPLE_DIRS))
    assert code == 0
    for value in PROTECTED_VALUES:
        assert value not in out
    _, full = crashproc("process", str(SAMPLES / "windows-x86-test-app"))
    assert any(value in full for value in PROTECTED_VALUES), "the samples do carry protected values"


def test_one_bad_crash_does_not_stop_the_batch(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "raw_crash.json").write_text("{not json")
    empty = tmp_path / "empty"
    empty.mkdir()
    good = SAMPLES / "no-minidump"
    code, out = crashproc("process", "--format", "summary", str(bad), str(good), str(empty))
    assert code == 1
    assert len(out.splitlines()) == 1
    assert out.startswith("no-minidump  ")  # each line names the directory it came from
    err = capsys.readouterr().err
    assert f"{bad}/raw_crash.json: not valid JSON" in err
    assert f"{empty}: no raw_crash.json in the crash directory" in err


def test_summary_and_out_directory(tmp_path):
    code, out = crashproc("process", "--out", str(tmp_path), str(SAMPLES / "windows-x86-test-app"))
    assert code == 0
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    processed = json.loads(files[0].read_text())
    assert files[0].name == f"{processed['crash_id']}.json"
    assert f"frames={len(processed['json_dump']['crashing_thread']['frames'])}" in out


def test_unknown_ruleset_is_a_usage_error(capsys):
    code, _ = crashproc("process", "--ruleset", "nope", str(SAMPLES / "no-minidump"))
    assert code == 2
    assert "unknown ruleset 'nope'" in capsys.readouterr().err


def test_schema_validate_reports_errors_with_paths(tmp_path):
    document = tmp_path / "processed.json"
    document.write_text(
        json.dumps({"crash_id": 5, "json_dump": {"threads": [{"frames": [{"trust": 1}]}]}})
    )
    code, out = crashproc("schema", "validate", "processed", str(document))
    assert code == 1
    assert "$.crash_id: expected string" in out
    assert "$.json_dump.threads[0].frames[0].trust" in out


def test_schema_validate_unreadable_file(tmp_path, capsys):
    document = tmp_path / "broken.json"
    document.write_text("{")
    assert crashproc("schema", "validate", "raw", str(document))[0] == 1
    assert "cannot read JSON" in capsys.readouterr().err


def test_schema_redact_drops_protected_fields():
    code, out = crashproc("schema", "redact", "--raw", str(SAMPLES / "windows-x86-test-app"))
    assert code == 0
    public = json.loads(out)
    assert public["ProductName"] == "Firefox"
    assert "URL" not in public and "Email" not in public and "metadata" not in public


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_schema_docs(tmp_path, fmt):
    target = tmp_path / f"dictionary.{fmt}"
    code, _ = crashproc("schema", "docs", "--format", fmt, "--out", str(target))
    assert code == 0
    text = target.read_text()
    assert "json_dump.crashing_thread.frames[].function" in text
    assert "ProductName" in text
    if fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and "<script" not in text


def test_adding_an_annotation_is_a_schema_edit_only(tmp_path):
    """A new annotation in copies of the schemas is copied, coerced, redacted and documented."""
    schema_dir = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, schema_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    raw = yaml.safe_load((schema_dir / "raw_crash.schema.yaml").read_text())
    processed = yaml.safe_load((schema_dir / "processed_crash.schema.yaml").read_text())
    for name, permission in (("FrobnicatorLevel", "public"), ("FrobnicatorSecret", "protected")):
        raw["properties"][name] = {
            "type": "string",
            "description": f"{name}, new in this test.",
            "permissions": [permission],
            "examples": ["3"],
        }
    processed["properties"]["frobnicator_level"] = {
        "type": "integer",
        "description": "Level of the frobnicator.",
        "permissions": ["public"],
        "source_annotation": "FrobnicatorLevel",
    }
    processed["properties"]["frobnicator_secret"] = {
        "type": "string",
        "description": "Secret of the frobnicator.",
        "permissions": ["protected"],
        "source_annotation": "FrobnicatorSecret",
    }
    (schema_dir / "raw_crash.schema.yaml").write_text(yaml.safe_dump(raw))
    (schema_dir / "processed_crash.schema.yaml").write_text(yaml.safe_dump(processed))

    crash_dir = tmp_path / "crash"
    shutil.copytree(SAMPLES / "no-minidump", crash_dir)
    raw_crash = json.loads((crash_dir / "raw_crash.json").read_text())
    raw_crash.update({"FrobnicatorLevel": "7", "FrobnicatorSecret": "hunter2"})
    (crash_dir / "raw_crash.json").write_text(json.dumps(raw_crash))

    code, out = crashproc("process", "--schema-dir", str(schema_dir), str(crash_dir))
    assert code == 0
    full = json.loads(out)
    assert full["frobnicator_level"] == 7
    assert full["frobnicator_secret"] == "hunter2"
    assert "FrobnicatorLevel" not in full["processor_notes"]

    code, out = crashproc("process", "--public", "--schema-dir", str(schema_dir), str(crash_dir))
    public = json.loads(out)
    assert public["frobnicator_level"] == 7
    assert "frobnicator_secret" not in public and "hunter2" not in out

    code, out = crashproc("schema", "docs", "--schema-dir", str(schema_dir))
    assert "frobnicator_level" in out and "FrobnicatorSecret" in out

    raw_crash["FrobnicatorLevel"] = "high"
    (crash_dir / "raw_crash.json").write_text(json.dumps(raw_crash))
    code, out = crashproc("process", "--schema-dir", str(schema_dir), str(crash_dir))
    bad = json.loads(out)
    assert "frobnicator_level" not in bad
    assert "FrobnicatorLevel has a non-integer value" in bad["processor_notes"]


def test_hostile_raw_crash_is_processed_with_notes(tmp_path):
    crash_dir = tmp_path / "hostile"
    shutil.copytree(SAMPLES / "windows-x86-test-app", crash_dir)
    raw_crash = json.loads((crash_dir / "raw_crash.json").read_text())
    raw_crash.update(
        {
            "ProductName": "Fire\x00fox",
            "Bad\x00Key": "value",
            "Version": 157,
            "TelemetryEnvironment": ["not", "an", "object"],
            "JavaStackTrace": "x" * (10 * 1024 * 1024),
            "MozCrashReason": {"nested": "object"},
            "StartupTime": None,
            "k" * 5000: "long key",
        }
    )
    (crash_dir / "raw_crash.json").write_text(json.dumps(raw_crash))
    (crash_dir / "upload_file_minidump").unlink()  # listed in dump_checksums, now missing

    code, out = crashproc("process", str(crash_dir))
    assert code == 0
    processed = json.loads(out)
    notes = processed["processor_notes"]
    assert "failed:" not in notes, notes
    assert processed["product"] == "Firefox", "NUL bytes are removed"
    assert "dump 'upload_file_minidump' is listed in the raw crash but missing" in notes
    assert "JavaStackTrace is too large (10485760 characters, limit 1048576)" in notes
    assert "java_stack_trace" not in processed
    assert notes.count("Version has a non-string value") == 1
    assert "TelemetryEnvironment is not a JSON object" in notes
    assert load_schema("processed_crash").validate(processed) == []
    assert len(out) < 12 * 1024 * 1024


def test_external_stackwalker_walks_a_dump_without_stored_output(
    tmp_path, peer_stackwalker, testdata_dir
):
    crash_dir = tmp_path / "crash"
    shutil.copytree(SAMPLES / "windows-x86-test-app", crash_dir)
    (crash_dir / "upload_file_minidump.json").unlink(missing_ok=True)
    # What the peer prints when run the way the processor runs it (raw crash as --evil-json).
    argv = [str(peer_stackwalker), "--json", str(crash_dir / "upload_file_minidump")]
    argv += [str(testdata_dir / "symbols"), "--evil-json", str(crash_dir / "raw_crash.json")]
    direct = subprocess.run(
        argv,
        capture_output=True,
        check=True,
    )
    expected_dump = json.loads(direct.stdout)
    code, out = crashproc(
        "process",
        "--stackwalker",
        "external",
        "--stackwalker-command",
        str(peer_stackwalker),
        "--symbols-path",
        str(testdata_dir / "symbols"),
        str(crash_dir),
    )
    assert code == 0
    processed = json.loads(out)
    assert processed["stackwalk_version"].startswith("minidump-stackwalk")
    assert processed["json_dump"] == expected_dump
    assert processed["signature"] == "(anonymous namespace)::CrashFunction"
    assert load_schema("processed_crash").validate(processed) == []


def test_required_external_stackwalker_that_is_missing_is_a_usage_error(capsys):
    code, _ = crashproc(
        "process",
        "--stackwalker",
        "external",
        "--stackwalker-command",
        "/nonexistent/minidump-stackwalk",
        str(SAMPLES / "no-minidump"),
    )
    assert code == 2
    assert (
        "stackwalker command '/nonexistent/minidump-stackwalk' not found" in capsys.readouterr().err
    )


def test_module_signature_info_sent_as_an_object_is_used_like_the_string(tmp_path):
    sample = SAMPLES / "windows-x86-test-app"
    crash_dir = tmp_path / "windows-x86-test-app"
    shutil.copytree(sample, crash_dir)
    raw_crash = json.loads((crash_dir / "raw_crash.json").read_text())
    raw_crash["ModuleSignatureInfo"] = json.loads(raw_crash["ModuleSignatureInfo"])
    (crash_dir / "raw_crash.json").write_text(json.dumps(raw_crash))

    code, out = crashproc("process", str(sample), str(crash_dir))
    assert code == 0
    as_string, as_object = (json.loads(line) for line in out.splitlines())
    subjects = [m.get("cert_subject") for m in as_object["json_dump"]["modules"]]
    assert "Mozilla Corporation" in subjects
    assert subjects == [m.get("cert_subject") for m in as_string["json_dump"]["modules"]]
    assert "ModuleSignatureInfo" not in as_object["processor_notes"]
