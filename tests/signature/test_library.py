"""The library's interfaces: generator, error callback, signature lists, converter, schema."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from signature import (
    SignatureGenerator,
    SignatureListError,
    SignatureLists,
    convert_to_crash_data,
    generate,
    validation_errors,
)
from signature.normalize import drop_prefix_and_return_type, enclosed_slices
from signature.rules import OOMSignature, Rule, SigTruncate, default_ruleset
from signature.siglists import BUNDLED_DIR, LIST_NAMES

FIXTURES = Path(__file__).parent / "fixtures"
# sha256 of Socorro's lists at the commit named in signature/siglists/README.md: the bundled
# lists are their only copy in the repository, so the digests say they are still unchanged.
# Syncing the lists from Socorro updates these together with the README's commit.
SOCORRO_LIST_SHA256 = {
    "irrelevant_signature_re": "40e0dfb4923750e6a4ff20894ebc96775ecd16688dd62390f04fcaa6a212f12d",
    "prefix_signature_re": "653ee0d151b38ab22a802ebcde545c924f0cbd90c9d0940d6c29d9a25ce089a9",
    "signature_sentinels": "7356f39e19c957a4303184b28e0ea21c6a3e5c8b21960bf1937238540b62edd3",
    "signatures_with_line_numbers_re": "7515b099e8a4bbafbde9bd246ebf2fca81d30f8a35416f3cd3704ec178c9e6ec",
}


def crash(*functions: str, **fields: Any) -> dict[str, Any]:
    frames = [{"function": f, "module": "libxul.so"} for f in functions]
    return {"crashing_thread": 0, "threads": [{"frames": frames}], **fields}


def test_result_carries_signature_proto_notes_and_debug() -> None:
    result = SignatureGenerator().generate(crash("KiFastSystemCallRet", "nsFoo::Bar(int)"))
    assert result.signature == "nsFoo::Bar"
    assert result.proto_signature == "KiFastSystemCallRet | nsFoo::Bar"
    assert result.notes == []
    assert result.debug_log[:2] == [
        "SignatureGenerationRule: using CSignatureTool",
        "SignatureGenerationRule: using included signature lists",
    ]
    assert 'SignatureGenerationRule: change signature: "" -> "nsFoo::Bar"' in result.debug_log
    assert result.to_dict()["proto_signature"] == result.proto_signature
    assert generate(crash("nsFoo::Bar(int)")).signature == "nsFoo::Bar"


def test_error_handler_gets_the_exception_and_notes_get_only_its_class() -> None:
    seen: list[tuple[BaseException, str]] = []
    generator = SignatureGenerator(error_handler=lambda exc, rule: seen.append((exc, rule)))
    result = generator.generate(crash("nsFoo::Bar", oom_allocation_size="secret-value"))
    assert result.signature == "nsFoo::Bar"
    assert result.notes == ["OOMSignature: Rule failed: ValueError"]
    assert [(type(exc), rule) for exc, rule in seen] == [(ValueError, "OOMSignature")]
    assert "secret-value" in str(seen[0][0])  # the handler may see details; notes may not


def test_custom_ruleset_runs_in_order() -> None:
    class Shout(Rule):
        def action(self, crash_data: Any, result: Any) -> None:
            result.set_signature(self.name, result.signature.upper() + "!" * 300)

    rules = [*default_ruleset()[:-1], Shout(), SigTruncate()]
    result = SignatureGenerator(ruleset=rules).generate(crash("nsFoo::Bar"))
    assert result.signature == "NSFOO::BAR" + "!" * 242 + "..."
    assert result.changes[-2][0] == "Shout"


def test_oom_rule_alone() -> None:
    result = SignatureGenerator(ruleset=[OOMSignature()]).generate({"oom_allocation_size": 5})
    assert result.signature == "OOM | small"


def test_bundled_lists_are_socorros() -> None:
    assert set(LIST_NAMES) == SOCORRO_LIST_SHA256.keys()
    for name in LIST_NAMES:
        bundled = (BUNDLED_DIR / f"{name}.txt").read_bytes()
        assert hashlib.sha256(bundled).hexdigest() == SOCORRO_LIST_SHA256[name], name
    assert (BUNDLED_DIR / "LICENSE-socorro-MPL-2.0").is_file()


def write_lists(directory: Path, **overrides: str) -> Path:
    for name in LIST_NAMES:
        text = overrides.get(name, (BUNDLED_DIR / f"{name}.txt").read_text(encoding="utf-8"))
        (directory / f"{name}.txt").write_text(text, encoding="utf-8")
    return directory


def test_users_can_point_at_their_own_lists(tmp_path: Path) -> None:
    lists = write_lists(tmp_path, irrelevant_signature_re="# mine\n\nnsFoo::\n")
    generator = SignatureGenerator(signature_list_dir=lists)
    result = generator.generate(crash("nsFoo::Bar", "KiFastSystemCallRet"))
    # nsFoo:: is now irrelevant and KiFastSystemCallRet no longer is
    assert result.signature == "KiFastSystemCallRet"
    assert f"SignatureGenerationRule: using signature lists from {lists}" in result.debug_log


def test_empty_lists_match_nothing(tmp_path: Path) -> None:
    lists = write_lists(tmp_path, **{name: "# nothing\n" for name in LIST_NAMES})
    result = SignatureGenerator(signature_list_dir=lists).generate(crash("KiFastSystemCallRet"))
    assert result.signature == "KiFastSystemCallRet"


def test_bad_list_regex_is_reported_with_file_and_line(tmp_path: Path) -> None:
    lists = write_lists(tmp_path, prefix_signature_re="# c\nok\nbad(\n")
    with pytest.raises(SignatureListError, match=r"prefix_signature_re\.txt:3: invalid regular"):
        SignatureLists.load(lists)


def test_missing_list_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SignatureListError, match="does not exist"):
        SignatureLists.load(tmp_path / "nope")
    with pytest.raises(SignatureListError, match="cannot read signature list"):
        SignatureLists.load(tmp_path)


def test_convert_processed_crash() -> None:
    processed = {
        "signature": "old | sig",
        "hang": "ui",
        "oom_allocation_size": "1234",
        "additional_minidumps": ["upload_file_minidump_browser"],
        "json_dump": {
            "crash_info": {"crashing_thread": 2, "type": "SIGSEGV"},
            "system_info": {"os": "Linux"},
            "threads": [{"frames": []}],
        },
        "java_stack_trace": "java.lang.Error",
    }
    data = convert_to_crash_data(processed)
    assert data["original_signature"] == "old | sig"
    assert data["oom_allocation_size"] == 1234
    assert (data["crashing_thread"], data["reason"], data["os"]) == (2, "SIGSEGV", "Linux")
    assert data["threads"] == [{"frames": []}]
    assert data["java_stack_trace"] == "java.lang.Error"
    assert "java_exception" not in data
    bare = convert_to_crash_data({"oom_allocation_size": "lots"})
    assert bare["oom_allocation_size"] is None and "threads" not in bare
    assert bare["additional_minidumps"] == [] and bare["original_signature"] == ""


def test_schema_accepts_every_reference_example_but_the_deliberately_bad_one() -> None:
    # fixtures/ref-NN-*.json are the 60 reference cases (crash data and Socorro's signatures).
    examples = sorted(FIXTURES.glob("ref-*.json"))
    assert len(examples) == 60
    invalid = [
        path.name[:6]
        for path in examples
        if validation_errors(json.loads(path.read_text(encoding="utf-8"))["crash_data"])
    ]
    assert invalid == ["ref-52"]  # java_stack_trace given as a list


def test_schema_errors_locate_without_quoting_values() -> None:
    errors = validation_errors(
        {"threads": [{"frames": [None, {"function": "secret", "line": []}]}]}
    )
    assert errors == [
        "threads/0/frames/0: must be of type object",
        "threads/0/frames/1/line: must be of type integer or string or null",
    ]
    assert validation_errors("x") == ["(top level): must be of type object"]


def test_bracket_helpers() -> None:
    assert list(enclosed_slices("a<b<c>>d<e", "<", ">")) == [(1, 7), (8, 10)]
    assert list(enclosed_slices(">x<y>", "<", ">")) == [(2, 5)]
    assert (
        drop_prefix_and_return_type("static void * Foo<A, B>::baz(int x)")
        == "Foo<A, B>::baz(int x)"
    )
    assert drop_prefix_and_return_type("f (int) [clone .cold.1]") == "f (int) [clone .cold.1]"
    assert drop_prefix_and_return_type("   ") == ""


def test_library_runs_without_the_processor_sentry_or_markus() -> None:
    code = (
        "import sys, json\n"
        "from signature import generate\n"
        "print(generate({'threads': [{'frames': [{'function': 'f()'}]}]}).signature)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('processor', 'sentry_sdk', 'markus', 'glom', 'jsonschema')]\n"
        "print(json.dumps(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd="/", check=True
    )
    signature_line, modules = done.stdout.splitlines()
    assert signature_line == "f"
    assert json.loads(modules) == []
