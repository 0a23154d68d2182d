"""Tests for the Java stack trace parser and JavaStackTraceRule."""

from __future__ import annotations

import time

import pytest

from processor.resources.javastack import MalformedJavaStackTrace, parse_java_stack_trace
from processor.rules.java import JavaStackTraceRule

SECRET = "user@example.com opened https://secret.example/account?id=42"

BASIC = (
    f"java.lang.IllegalStateException: {SECRET}\n"
    "\tat org.mozilla.fenix.HomeActivity.onCreate(HomeActivity.kt:120)\n"
    "\tat android.app.Activity.performCreate(Activity.java:8051)\n"
)

CAUSED_BY = (
    "java.lang.RuntimeException: Unable to start activity\n"
    "\tat android.app.ActivityThread.performLaunchActivity(ActivityThread.java:3449)\n"
    "\tat android.os.Handler.dispatchMessage(Handler.java:106)\n"
    f"Caused by: java.lang.IllegalArgumentException: {SECRET}\n"
    "\tat org.mozilla.fenix.Settings.load(Settings.kt:55)\n"
    "\t... 2 more\n"
)

SUPPRESSED = (
    "java.io.IOException: write failed\n"
    "\tat mozilla.components.Storage.write(Storage.kt:10)\n"
    f"\tSuppressed: java.io.IOException: close failed for {SECRET}\n"
    "\t\tat mozilla.components.Storage.close(Storage.kt:20)\n"
)

MULTILINE_MESSAGE = (
    "android.database.sqlite.SQLiteDatabaseLockedException: database is locked (code 5)\n"
    "#################################################################\n"
    f"Error Code : 5 (SQLITE_BUSY) for {SECRET}\n"
    "\t(database is locked (code 5))\n"
    "\n"
    "#################################################################\n"
    "\tat android.database.sqlite.SQLiteConnection.nativeExecute(Native Method)\n"
    "\tat android.database.sqlite.SQLiteConnection.execute(SQLiteConnection.java:904)\n"
)


class TestParser:
    def test_basic(self):
        parsed = parse_java_stack_trace(BASIC)
        assert parsed.exception_class == "java.lang.IllegalStateException"
        assert parsed.exception_message == SECRET
        assert parsed.stack == [
            "at org.mozilla.fenix.HomeActivity.onCreate(HomeActivity.kt:120)",
            "at android.app.Activity.performCreate(Activity.java:8051)",
        ]
        assert parsed.additional == []
        assert parsed.to_public_string() == (
            "java.lang.IllegalStateException\n"
            "\tat org.mozilla.fenix.HomeActivity.onCreate(HomeActivity.kt:120)\n"
            "\tat android.app.Activity.performCreate(Activity.java:8051)"
        )

    def test_no_message(self):
        parsed = parse_java_stack_trace("java.lang.NullPointerException\n\tat a.B.c(B.java:1)\n")
        assert parsed.exception_class == "java.lang.NullPointerException"
        assert parsed.exception_message == ""
        assert parsed.to_public_string() == "java.lang.NullPointerException\n\tat a.B.c(B.java:1)"

    def test_multiline_message_ends_at_first_frame(self):
        parsed = parse_java_stack_trace(MULTILINE_MESSAGE)
        assert parsed.exception_class == "android.database.sqlite.SQLiteDatabaseLockedException"
        assert parsed.exception_message.startswith("database is locked (code 5)\n####")
        assert "\n\n" in parsed.exception_message  # the blank line is part of the message
        assert parsed.exception_message.endswith("#" * 65)
        assert len(parsed.stack) == 2

    def test_caused_by_is_additional(self):
        parsed = parse_java_stack_trace(CAUSED_BY)
        assert len(parsed.stack) == 2
        assert parsed.additional[0].startswith("Caused by: java.lang.IllegalArgumentException")
        assert parsed.additional[-1] == "\t... 2 more"

    def test_suppressed_is_additional(self):
        parsed = parse_java_stack_trace(SUPPRESSED)
        assert parsed.stack == ["at mozilla.components.Storage.write(Storage.kt:10)"]
        assert parsed.additional == [
            f"\tSuppressed: java.io.IOException: close failed for {SECRET}",
            "\t\tat mozilla.components.Storage.close(Storage.kt:20)",
        ]

    def test_blank_line_before_caused_by(self):
        parsed = parse_java_stack_trace("E: m\n\tat a.b(C.java:1)\n\nCaused by: F: n\n")
        assert parsed.stack == ["at a.b(C.java:1)"]
        assert parsed.additional == ["Caused by: F: n"]

    def test_message_without_frames(self):
        parsed = parse_java_stack_trace("java.lang.OutOfMemoryError: Failed to allocate")
        assert parsed.exception_class == "java.lang.OutOfMemoryError"
        assert parsed.stack == []
        assert parsed.to_public_string() == "java.lang.OutOfMemoryError\n"

    def test_non_frame_stack_lines_are_not_public(self):
        parsed = parse_java_stack_trace(f"E: m\n\tat a.b(C.java:1)\n\t{SECRET}\n")
        assert parsed.stack == ["at a.b(C.java:1)", SECRET]
        assert parsed.to_public_string() == "E\n\tat a.b(C.java:1)"

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "   \n\n",
            None,
            42,
            "E: m\n\tat a.b(C.java:1)\nunindented line",
            # The class position holds prose: publishing it could publish a message.
            f"{SECRET}\n\tat a.b(C.java:1)",
            "  : only a message\n\tat a.b(C.java:1)",
        ],
    )
    def test_malformed(self, text):
        with pytest.raises(MalformedJavaStackTrace) as excinfo:
            parse_java_stack_trace(text)
        assert SECRET not in str(excinfo.value)

    def test_huge_trace_is_linear(self):
        frames = "".join(f"\tat a.b.C.m{i}(C.java:{i})\n" for i in range(200_000))
        started = time.perf_counter()
        parsed = parse_java_stack_trace("E: m\n" + frames)
        assert time.perf_counter() - started < 5
        assert len(parsed.stack) == 200_000


class TestJavaStackTraceRule:
    @pytest.mark.parametrize("text", [BASIC, CAUSED_BY, SUPPRESSED, MULTILINE_MESSAGE])
    def test_raw_kept_public_sanitised(self, run_rule, text):
        processed_crash = {}
        status = run_rule(
            JavaStackTraceRule(),
            raw_crash={"JavaStackTrace": text},
            processed_crash=processed_crash,
        )
        assert processed_crash["java_stack_trace_raw"] == text
        public = processed_crash["java_stack_trace"]
        assert SECRET not in public
        assert "Caused by" not in public and "Suppressed" not in public
        lines = public.split("\n")
        assert lines[0] == text.split(":", 1)[0]
        assert lines[1:] and all(line.startswith("\tat ") for line in lines[1:])
        assert status.notes == []

    def test_caused_by_frames_are_dropped(self, run_rule):
        processed_crash = {}
        run_rule(
            JavaStackTraceRule(),
            raw_crash={"JavaStackTrace": CAUSED_BY},
            processed_crash=processed_crash,
        )
        assert processed_crash["java_stack_trace"] == (
            "java.lang.RuntimeException\n"
            "\tat android.app.ActivityThread.performLaunchActivity(ActivityThread.java:3449)\n"
            "\tat android.os.Handler.dispatchMessage(Handler.java:106)"
        )

    def test_malformed(self, run_rule):
        text = f"E: {SECRET}\n\tat a.b(C.java:1)\nnot indented {SECRET}"
        processed_crash = {}
        status = run_rule(
            JavaStackTraceRule(),
            raw_crash={"JavaStackTrace": text},
            processed_crash=processed_crash,
        )
        assert processed_crash == {"java_stack_trace_raw": text, "java_stack_trace": "malformed"}
        assert status.notes == ["JavaStackTrace: malformed JavaStackTrace"]

    def test_non_string_value(self, run_rule):
        processed_crash = {}
        status = run_rule(
            JavaStackTraceRule(),
            raw_crash={"JavaStackTrace": ["E: m", "\tat a.b(C.java:1)"]},
            processed_crash=processed_crash,
        )
        assert processed_crash == {"java_stack_trace": "malformed"}
        assert status.notes == ["JavaStackTrace: malformed JavaStackTrace"]

    @pytest.mark.parametrize("raw_crash", [{}, {"JavaStackTrace": ""}])
    def test_absent(self, run_rule, raw_crash):
        processed_crash = {}
        status = run_rule(
            JavaStackTraceRule(), raw_crash=raw_crash, processed_crash=processed_crash
        )
        assert processed_crash == {}
        assert status.notes == []

    def test_nul_in_message_is_not_published(self, run_rule):
        text = "E: secret\x00part\n\tat a.b(C.java:1)\n"
        processed_crash = {}
        run_rule(
            JavaStackTraceRule(),
            raw_crash={"JavaStackTrace": text},
            processed_crash=processed_crash,
        )
        assert processed_crash["java_stack_trace"] == "E\n\tat a.b(C.java:1)"


def test_written_fields_match_the_processed_schema(run_rule, schema_problems):
    processed_crash = {}
    run_rule(
        JavaStackTraceRule(), raw_crash={"JavaStackTrace": BASIC}, processed_crash=processed_crash
    )
    assert set(processed_crash) == {"java_stack_trace", "java_stack_trace_raw"}
    assert schema_problems(processed_crash) == {}
