"""The ``signature`` command: generate, explain, fixture; errors without tracebacks."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from signature.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def crash(*functions: str, **fields: Any) -> dict[str, Any]:
    frames = [{"function": f, "module": "libxul.so"} for f in functions]
    return {"crashing_thread": 0, "threads": [{"frames": frames}], **fields}


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_generate_text_from_files_and_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(crash("nsFoo::Bar(int)")))
    lines = tmp_path / "many.jsonl"
    lines.write_text(
        json.dumps(crash("malloc", "nsA::B()")) + "\n\n" + json.dumps({"hang": "ui"}) + "\n"
    )
    status, out, err = run(capsys, monkeypatch, "generate", str(one), str(lines), "-")
    assert (status, err) == (
        1,
        "error: <stdin>: not valid JSON (Expecting value: line 1 column 1 (char 0))\n",
    )
    assert out.splitlines() == [
        "nsFoo::Bar",
        "malloc | nsA::B",
        "hang: ui | EMPTY: no frame data available",
    ]

    stdin = json.dumps([crash("nsFoo::Bar"), crash("memcpy", "x")])
    status, out, err = run(capsys, monkeypatch, "generate", stdin=stdin)
    assert (status, out, err) == (0, "nsFoo::Bar\nmemcpy | x\n", "")


def test_generate_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = json.dumps({"java_stack_trace": "java.lang.Error: x\n\tat a.B.c(B.java:1)"}) + "\n"
    stdin += json.dumps(crash("KiFastSystemCallRet", "nsFoo::Bar", ipc_channel_error="Kill"))
    status, out, _ = run(capsys, monkeypatch, "generate", "--format", "json", "-", stdin=stdin)
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"signature": "java.lang.Error: x at a.B.c(B.java)", "proto_signature": None, "notes": []},
        {
            "signature": "IPCError-content | Kill",
            "proto_signature": "KiFastSystemCallRet | nsFoo::Bar",
            "notes": ["SignatureIPCChannelError: IPC Channel Error stomped on signature"],
        },
    ]


def test_processed_crashes_and_fixtures_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    processed = {"json_dump": {"threads": [{"frames": [{"function": "nsFoo::Bar()"}]}]}}
    path = tmp_path / "processed.json"
    path.write_text(json.dumps(processed))
    fixture = next(iter(sorted(FIXTURES.glob("ref-00-*.json"))))
    status, out, _ = run(capsys, monkeypatch, "generate", str(path), str(fixture))
    expected = json.loads(fixture.read_text())["expected_signature"]
    assert (status, out.splitlines()) == (0, ["nsFoo::Bar", expected])


def test_invalid_crash_data_is_an_error_unless_lenient(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = json.dumps(crash("nsFoo::Bar", abort_message=["secret"]))
    status, out, err = run(capsys, monkeypatch, "generate", stdin=stdin)
    assert (status, out) == (1, "")
    assert (
        err == "error: <stdin>: invalid crash data: abort_message: must be of type string or null\n"
    )
    assert "secret" not in err

    status, out, err = run(capsys, monkeypatch, "generate", "--lenient", stdin=stdin)
    assert (status, out) == (0, "nsFoo::Bar\n")
    assert err.startswith("warning: <stdin>: invalid crash data")


def test_unreadable_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"hang": "ui"}\n{oops\n')
    status, out, err = run(
        capsys, monkeypatch, "generate", str(tmp_path / "missing.json"), str(broken)
    )
    assert status == 1
    assert out == "hang: ui | EMPTY: no frame data available\n"
    assert f"error: {tmp_path / 'missing.json'}: cannot read (FileNotFoundError)" in err
    assert f"error: {broken}:2: not valid JSON" in err
    assert "Traceback" not in err


def test_a_file_that_is_not_json_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("".join(f"line {n} of prose\n" for n in range(50)))
    pretty = tmp_path / "pretty.json"  # broken pretty-printed JSON, not JSON lines
    pretty.write_text('{\n  "hang": "ui",\n  oops\n}\n')
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"hang": "ui"}))
    status, out, err = run(capsys, monkeypatch, "generate", str(text), str(pretty), str(good))
    assert (status, out) == (1, "hang: ui | EMPTY: no frame data available\n")
    assert err.splitlines() == [
        f"error: {text}: not valid JSON (Expecting value: line 1 column 1 (char 0))",
        f"error: {pretty}: not valid JSON "
        "(Expecting property name enclosed in double quotes: line 3 column 3 (char 20))",
    ]


def test_bad_signature_list_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _, err = run(
        capsys, monkeypatch, "--signature-list-dir", str(tmp_path / "x"), "generate"
    )
    assert status == 2
    assert err.startswith("error: signature list directory")


def test_explain_shows_each_frame_and_each_change(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = crash(
        "nsFoo::Top()", "__assert_fail", "NtWaitForSingleObject", "malloc", "", "nsA::B()", "z"
    )
    data["threads"][0]["frames"][4] = {}
    data["hang"] = "ui"
    status, out, _ = run(capsys, monkeypatch, "explain", "-", stdin=json.dumps(data))
    assert status == 0
    lines = out.splitlines()
    assert "  0  cut: above the sentinel" in lines[3]
    assert "  1  sentinel: start here; skipped: irrelevant" in lines[4]
    assert "  2  skipped: irrelevant" in lines[5]
    assert lines[5].endswith("'NtWaitForSingleObject' [(Nt|Zw)?WaitForSingleObject(Ex)?]")
    assert "  3  kept: prefix, continue" in lines[6]
    assert lines[6].endswith("'malloc' [malloc]")
    assert "  4  skipped: empty frame" in lines[7]
    assert "  5  kept: not a prefix, stop" in lines[8]
    assert "  6  not reached" in lines[9]
    assert "  SignatureGenerationRule: '' -> 'malloc | nsA::B'" in lines
    assert "  HungProcess: 'malloc | nsA::B' -> 'hang: ui | malloc | nsA::B'" in lines
    assert lines[-1] == "Signature: hang: ui | malloc | nsA::B"


def test_fixture_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    processed = {
        "signature": "old",
        "abort_message": "boom: file x.cpp:1",
        "json_dump": {
            "crash_info": {"crashing_thread": 0},
            "system_info": {"os": "Windows NT"},
            "threads": [{"frames": [{"module": "NTDLL.DLL"}, {"function": "nsFoo::Bar()"}]}],
        },
    }
    source = tmp_path / "processed.json"
    source.write_text(json.dumps(processed))
    target = tmp_path / "fixture.json"
    status, _, _ = run(
        capsys, monkeypatch, "fixture", str(source), "-o", str(target), "--description", "demo"
    )
    assert status == 0
    fixture = json.loads(target.read_text())
    assert fixture["description"] == "demo"
    assert fixture["crash_data"]["original_signature"] == "old"
    assert fixture["expected_signature"] == "Abort | boom | ntdll.dll | nsFoo::Bar"
    assert fixture["expected_proto_signature"] == "ntdll.dll | nsFoo::Bar"

    status, out, _ = run(capsys, monkeypatch, "generate", str(target))
    assert (status, out) == (0, "Abort | boom | ntdll.dll | nsFoo::Bar\n")

    source.write_text("[1]")
    status, _, err = run(capsys, monkeypatch, "fixture", str(source))
    assert (status, err) == (1, f"error: {source}: not a JSON object\n")
