"""Tests for the rules that read stackwalker output (json_dump)."""

from __future__ import annotations

import copy
import inspect
import json

import pytest
from markus.testing import MetricsMock

from processor.rules import breakpad
from processor.rules.breakpad import (
    CrashInconsistenciesRule,
    CrashingThreadInfoRule,
    HasGuardPageAccessRule,
    MacBootArgsRule,
    MacCrashInfoRule,
    MissingSymbolsRule,
    ModulesInStackRule,
    ModuleURLRewriteRule,
    PossibleBitFlipsRule,
    ReportTypeRule,
    ShutDownHangCrashingThreadRule,
    SoftErrorsRule,
    ThreadCountRule,
    TopMostFilesRule,
    TruncateStacksRule,
)

GARBAGE_PROCESSED_CRASHES = [
    {},
    {"json_dump": None},
    {"json_dump": []},
    {"json_dump": "OK"},
    {"json_dump": 3},
    {"json_dump": {}, "crashing_thread": "0"},
    {
        "json_dump": {
            "crash_info": [],
            "crashing_thread": [],
            "threads": "x",
            "modules": "x",
            "system_info": 1,
            "thread_count": "2",
            "soft_errors": None,
            "mac_boot_args": None,
            "mac_crash_info": [],
        },
        "crashing_thread": -1,
    },
    {
        "json_dump": {
            "crash_info": {
                "crashing_thread": 9,
                "type": 5,
                "address": 17,
                "adjusted_address": "x",
                "possible_bit_flips": [None, 1, {"confidence": "high"}],
                "memory_accesses": {"is_likely_guard_page": True},
                "crash_inconsistencies": "x",
            },
            "crashing_thread": {"frames": "x", "thread_name": 1, "last_error_value": 2},
            "threads": [None, 1, {"frames": [None, 1, {"function": 3, "module": [], "file": 4}]}],
            "modules": [None, 1, {"filename": 5, "missing_symbols": True, "symbol_url": 3}],
            "thread_count": True,
            "mac_boot_args": ["-v"],
            "mac_crash_info": {"num_records": "2"},
        },
        "crashing_thread": 2,
        "additional_minidumps": "upload_file_minidump_browser",
        "signature": None,
    },
    {
        "json_dump": {"threads": [{"frames": [1] * 600}]},
        "additional_minidumps": [None, 5, "x"],
        "x": [],
    },
]


def breakpad_rules():
    return [
        cls()
        for _, cls in inspect.getmembers(breakpad, inspect.isclass)
        if cls.__module__ == breakpad.__name__ and issubclass(cls, breakpad.Rule)
    ]


@pytest.mark.parametrize("processed_crash", GARBAGE_PROCESSED_CRASHES)
@pytest.mark.parametrize("rule", breakpad_rules(), ids=lambda rule: type(rule).__name__)
def test_every_rule_survives_garbage(run_rule, rule, processed_crash):
    """No rule raises on malformed stackwalker output (act() does not catch exceptions)."""
    status = run_rule(rule, raw_crash={"uuid": "x"}, processed_crash=copy.deepcopy(processed_crash))
    assert all(isinstance(note, str) for note in status.notes)


def test_rules_module_is_covered():
    assert len(breakpad_rules()) == 15


class TestCrashingThreadInfoRule:
    def test_real_windows_dump(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("test.dmp")}
        status = run_rule(CrashingThreadInfoRule(), processed_crash=processed_crash)
        assert processed_crash["crashing_thread"] == 0
        assert processed_crash["crashing_thread_name"] is None
        assert processed_crash["reason"] == "EXCEPTION_ACCESS_VIOLATION_WRITE"
        assert processed_crash["address"] == "0x00000045"
        assert "last_error_value" not in processed_crash
        assert status.notes == []

    def test_real_macos_dump_thread_name(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("pipeline-inlines-macos-segv.dmp")}
        run_rule(CrashingThreadInfoRule(), processed_crash=processed_crash)
        assert processed_crash["crashing_thread_name"] == "main"
        assert processed_crash["reason"] == "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS"

    @pytest.mark.parametrize(
        "address, adjusted, expected",
        [
            (
                "0x0000000000000045",
                {"kind": "null-pointer", "offset": "0x45"},
                "0x0000000000000000",
            ),
            ("0x00000045", {"kind": "null-pointer", "offset": "0x45"}, "0x00000000"),
            (None, {"kind": "null-pointer"}, "0x00000000"),
            (
                "0xffff800000000045",
                {"kind": "non-canonical", "address": "0x0000800000000045"},
                "0x0000800000000045",
            ),
            (
                "0xffff800000000045",
                {"kind": "non-canonical", "address": None},
                "0xffff800000000045",
            ),
            ("0xffff800000000045", {"kind": "something-new"}, "0xffff800000000045"),
            ("0x10", None, "0x10"),
        ],
    )
    def test_address_adjustment(self, run_rule, address, adjusted, expected):
        crash_info = {"crashing_thread": 0, "address": address, "adjusted_address": adjusted}
        processed_crash = {"json_dump": {"crash_info": crash_info}}
        run_rule(CrashingThreadInfoRule(), processed_crash=processed_crash)
        assert processed_crash["address"] == expected

    def test_last_error_value(self, run_rule):
        processed_crash = {
            "json_dump": {
                "crash_info": {"crashing_thread": 1},
                "crashing_thread": {
                    "thread_name": "Gecko_IOThread",
                    "last_error_value": "ERROR_FILE_NOT_FOUND",
                },
            }
        }
        run_rule(CrashingThreadInfoRule(), processed_crash=processed_crash)
        assert processed_crash["crashing_thread"] == 1
        assert processed_crash["crashing_thread_name"] == "Gecko_IOThread"
        assert processed_crash["last_error_value"] == "ERROR_FILE_NOT_FOUND"

    @pytest.mark.parametrize(
        "json_dump",
        [
            {},
            [],
            "x",
            {"crash_info": None},
            {"crash_info": {"crashing_thread": None}},
            {"crash_info": {"crashing_thread": -1}},
            {"crash_info": {"crashing_thread": True}},
            {"crash_info": {"crashing_thread": "0"}},
        ],
    )
    def test_no_crashing_thread(self, run_rule, json_dump):
        processed_crash = {"json_dump": json_dump}
        status = run_rule(CrashingThreadInfoRule(), processed_crash=processed_crash)
        assert processed_crash["crashing_thread"] is None
        assert processed_crash["reason"] == ""
        assert processed_crash["address"] is None
        assert status.notes == ["mdsw did not identify the crashing thread"]

    @pytest.mark.parametrize("processed_crash", [{}, {"json_dump": None}])
    def test_skipped_without_json_dump(self, run_rule, processed_crash):
        status = run_rule(CrashingThreadInfoRule(), processed_crash=processed_crash)
        assert "crashing_thread" not in processed_crash
        assert status.notes == []


class TestCrashInconsistenciesRule:
    def test_copies_list(self, run_rule):
        names = ["crashing_thread_is_not_in_thread_list", "non_canonical_address_but_not_gpf"]
        processed_crash = {"json_dump": {"crash_info": {"crash_inconsistencies": [*names, 5]}}}
        run_rule(CrashInconsistenciesRule(), processed_crash=processed_crash)
        assert processed_crash["crash_inconsistencies"] == names

    def test_real_dump_has_empty_list(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("test.dmp")}
        run_rule(CrashInconsistenciesRule(), processed_crash=processed_crash)
        assert processed_crash["crash_inconsistencies"] == []

    @pytest.mark.parametrize(
        "json_dump", [{}, {"crash_info": None}, {"crash_info": {"crash_inconsistencies": "x"}}, []]
    )
    def test_none(self, run_rule, json_dump):
        processed_crash = {"json_dump": json_dump}
        run_rule(CrashInconsistenciesRule(), processed_crash=processed_crash)
        assert processed_crash["crash_inconsistencies"] is None

    def test_skipped_without_json_dump(self, run_rule):
        processed_crash = {}
        run_rule(CrashInconsistenciesRule(), processed_crash=processed_crash)
        assert processed_crash == {}


class TestPossibleBitFlipsRule:
    def test_real_linux_dump(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("linux-mini.dmp")}
        run_rule(PossibleBitFlipsRule(), processed_crash=processed_crash)
        confidences = [
            f["confidence"]
            for f in processed_crash["json_dump"]["crash_info"]["possible_bit_flips"]
        ]
        assert processed_crash["possible_bit_flips_max_confidence"] == int(max(confidences) * 100)

    @pytest.mark.parametrize(
        "flips, expected",
        [
            ([{"confidence": 0.25}, {"confidence": 0.875}, {"confidence": 0.5}], 87),
            ([{"confidence": 1}], 100),
            ([{"address": "0x1"}], 0),
            ([{"confidence": "0.9"}, {"confidence": 0.3}, None, {"confidence": True}], 30),
            ([{"confidence": 3.5}], 100),
            ([{"confidence": -0.5}], 0),
        ],
    )
    def test_max_confidence(self, run_rule, flips, expected):
        processed_crash = {"json_dump": {"crash_info": {"possible_bit_flips": flips}}}
        run_rule(PossibleBitFlipsRule(), processed_crash=processed_crash)
        assert processed_crash["possible_bit_flips_max_confidence"] == expected

    @pytest.mark.parametrize(
        "possible_bit_flips",
        [None, [], [{"confidence": "x"}], [{"confidence": float("nan")}], {"confidence": 0.5}],
    )
    def test_unset_without_flips(self, run_rule, possible_bit_flips):
        processed_crash = {"json_dump": {"crash_info": {"possible_bit_flips": possible_bit_flips}}}
        run_rule(PossibleBitFlipsRule(), processed_crash=processed_crash)
        assert "possible_bit_flips_max_confidence" not in processed_crash


class TestHasGuardPageAccessRule:
    def test_guard_page(self, run_rule):
        accesses = [
            {"address": "0x1", "is_likely_guard_page": False},
            {"is_likely_guard_page": True},
        ]
        processed_crash = {"json_dump": {"crash_info": {"memory_accesses": accesses}}}
        run_rule(HasGuardPageAccessRule(), processed_crash=processed_crash)
        assert processed_crash["has_guard_page_access"] is True

    @pytest.mark.parametrize(
        "accesses",
        [
            None,
            [],
            [{"is_likely_guard_page": False}],
            [{"is_likely_guard_page": "true"}],
            [{}],
            "x",
        ],
    )
    def test_never_set_false(self, run_rule, accesses):
        processed_crash = {"json_dump": {"crash_info": {"memory_accesses": accesses}}}
        run_rule(HasGuardPageAccessRule(), processed_crash=processed_crash)
        assert "has_guard_page_access" not in processed_crash

    def test_real_dump_without_guard_page(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("linux-mini.dmp")}
        run_rule(HasGuardPageAccessRule(), processed_crash=processed_crash)
        assert "has_guard_page_access" not in processed_crash


def make_frames(count):
    return [{"frame": index, "function": f"f{index}"} for index in range(count)]


class TestTruncateStacksRule:
    def test_truncates_long_stacks(self, run_rule):
        processed_crash = {
            "json_dump": {
                "crashing_thread": {"frames": make_frames(501)},
                "threads": [{"frames": make_frames(3)}, {"frames": make_frames(1200)}],
            }
        }
        with MetricsMock() as mm:
            status = run_rule(TruncateStacksRule(), processed_crash=processed_crash)
            mm.assert_gauge("crashproc.processor.truncatestackrule.stack_size", value=501)
            mm.assert_gauge("crashproc.processor.truncatestackrule.stack_size", value=1200)
            assert (
                len(mm.filter_records("incr", "crashproc.processor.truncatestackrule.truncated"))
                == 2
            )

        crashing = processed_crash["json_dump"]["crashing_thread"]
        assert len(crashing["frames"]) == 500
        assert crashing["frames"][:250] == make_frames(250)
        assert crashing["frames"][250] == {"truncated": {"msg": "2 frames truncated"}}
        assert crashing["frames"][251:] == make_frames(501)[-249:]
        assert crashing["truncated"] is True

        short, long_ = processed_crash["json_dump"]["threads"]
        assert short == {"frames": make_frames(3)}
        assert long_["frames"][250] == {"truncated": {"msg": "701 frames truncated"}}
        assert long_["frames"][-1] == {"frame": 1199, "function": "f1199"}
        assert long_["truncated"] is True

        assert status.notes == [
            "TruncateStacksRule: truncated json_dump.crashing_thread.frames: 501 -> 500",
            "TruncateStacksRule: truncated json_dump.threads[1].frames: 1200 > 500",
        ]

    def test_socorros_1002_frames_case_counts_the_frames_really_dropped(self, run_rule):
        # Socorro's test: a 1,002-frame stack becomes 500 entries (250 frames, the marker, 249
        # frames). Socorro's marker says "502 frames truncated" (it counts frames[250:-250]);
        # 503 frames are gone, and that is what ours says.
        frames = make_frames(1002)
        processed_crash = {"json_dump": {"crashing_thread": {"frames": list(frames)}}}
        run_rule(TruncateStacksRule(), processed_crash=processed_crash)
        kept = processed_crash["json_dump"]["crashing_thread"]["frames"]
        assert len(kept) == 500
        marker = kept[250]
        assert marker == {"truncated": {"msg": "503 frames truncated"}}
        assert len([f for f in frames if f not in kept]) == 503

    def test_thousands_separator(self, run_rule):
        processed_crash = {"json_dump": {"threads": [{"frames": make_frames(1499)}]}}
        run_rule(TruncateStacksRule(), processed_crash=processed_crash)
        assert processed_crash["json_dump"]["threads"][0]["frames"][250] == {
            "truncated": {"msg": "1,000 frames truncated"}
        }

    def test_limit_is_inclusive(self, run_rule):
        processed_crash = {"json_dump": {"threads": [{"frames": make_frames(500)}]}}
        with MetricsMock() as mm:
            status = run_rule(TruncateStacksRule(), processed_crash=processed_crash)
            mm.assert_not_incr("crashproc.processor.truncatestackrule.truncated")
        assert processed_crash == {"json_dump": {"threads": [{"frames": make_frames(500)}]}}
        assert status.notes == []

    def test_additional_minidumps(self, run_rule):
        processed_crash = {
            "json_dump": {"threads": [{"frames": make_frames(2)}]},
            "additional_minidumps": [
                "upload_file_minidump_browser",
                "upload_file_minidump_browser",
            ],
            "upload_file_minidump_browser": {
                "json_dump": {"threads": [{"frames": make_frames(600)}]}
            },
            # Not listed in additional_minidumps: left alone.
            "other": {"json_dump": {"threads": [{"frames": make_frames(600)}]}},
        }
        status = run_rule(TruncateStacksRule(), processed_crash=processed_crash)
        assert (
            len(
                processed_crash["upload_file_minidump_browser"]["json_dump"]["threads"][0]["frames"]
            )
            == 500
        )
        assert len(processed_crash["other"]["json_dump"]["threads"][0]["frames"]) == 600
        assert status.notes == [
            "TruncateStacksRule: truncated upload_file_minidump_browser.json_dump.threads[0].frames: 600 > 500"
        ]

    def test_custom_limits(self, run_rule):
        processed_crash = {"json_dump": {"threads": [{"frames": make_frames(20)}]}}
        run_rule(
            TruncateStacksRule(max_frames=10, keep_head=3, keep_tail=2),
            processed_crash=processed_crash,
        )
        frames = processed_crash["json_dump"]["threads"][0]["frames"]
        assert [frame.get("frame") for frame in frames] == [0, 1, 2, None, 18, 19]
        assert frames[3] == {"truncated": {"msg": "15 frames truncated"}}

    def test_default_split_for_other_max(self):
        rule = TruncateStacksRule(max_frames=100)
        assert (rule.keep_head, rule.keep_tail) == (50, 49)

    def test_zero_tail(self, run_rule):
        processed_crash = {"json_dump": {"threads": [{"frames": make_frames(5)}]}}
        run_rule(
            TruncateStacksRule(max_frames=3, keep_head=2, keep_tail=0),
            processed_crash=processed_crash,
        )
        frames = processed_crash["json_dump"]["threads"][0]["frames"]
        assert frames == [*make_frames(2), {"truncated": {"msg": "3 frames truncated"}}]

    @pytest.mark.parametrize(
        "kwargs",
        [{"max_frames": 10, "keep_head": 5, "keep_tail": 5}, {"keep_head": -1}, {"max_frames": 0}],
    )
    def test_invalid_limits(self, kwargs):
        with pytest.raises(ValueError, match="keep_head"):
            TruncateStacksRule(**kwargs)

    def test_real_output_unchanged(self, run_rule, stackwalk):
        json_dump = stackwalk("pipeline-inlines-macos-segv.dmp")
        processed_crash = {"json_dump": copy.deepcopy(json_dump)}
        run_rule(TruncateStacksRule(), processed_crash=processed_crash)
        assert processed_crash["json_dump"] == json_dump


class TestThreadCountRule:
    def test_real_dump(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("pipeline-inlines-macos-segv.dmp")}
        run_rule(ThreadCountRule(), processed_crash=processed_crash)
        # testdata README: the macOS dump has 11 threads.
        assert processed_crash["thread_count"] == 11

    @pytest.mark.parametrize(
        "json_dump",
        [
            None,
            {},
            {"thread_count": None},
            {"thread_count": True},
            {"thread_count": -1},
            {"thread_count": "3"},
        ],
    )
    def test_default_none(self, run_rule, json_dump):
        processed_crash = {"json_dump": json_dump}
        run_rule(ThreadCountRule(), processed_crash=processed_crash)
        assert processed_crash["thread_count"] is None


class TestTopMostFilesRule:
    def test_real_windows_dump(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("test.dmp"), "crashing_thread": 0}
        run_rule(TopMostFilesRule(), processed_crash=processed_crash)
        assert processed_crash["topmost_filenames"] == "c:\\test_app.cc"

    def test_real_inline_frames_come_first(self, run_rule, stackwalk):
        json_dump = stackwalk("pipeline-inlines-macos-segv.dmp")
        processed_crash = {"json_dump": json_dump, "crashing_thread": 0}
        run_rule(TopMostFilesRule(), processed_crash=processed_crash)
        top = json_dump["threads"][0]["frames"][0]
        assert top["inlines"] and top["file"] != top["inlines"][0]["file"]
        assert processed_crash["topmost_filenames"] == top["inlines"][0]["file"]

    def test_skips_frames_without_files(self, run_rule):
        frames = [
            None,
            {"file": None, "inlines": None},
            {"file": "", "inlines": [{"file": None}, "x", {"file": ""}]},
            {"file": 5},
            {"file": "b.cpp", "inlines": [{"file": "a.h"}]},
        ]
        processed_crash = {
            "json_dump": {"threads": [{"frames": []}, {"frames": frames}]},
            "crashing_thread": 1,
        }
        run_rule(TopMostFilesRule(), processed_crash=processed_crash)
        assert processed_crash["topmost_filenames"] == "a.h"

    @pytest.mark.parametrize("crashing_thread", [None, -1, 2, "0", True])
    def test_no_usable_crashing_thread(self, run_rule, crashing_thread):
        processed_crash = {
            "json_dump": {"threads": [{"frames": [{"file": "a.c"}]}]},
            "crashing_thread": crashing_thread,
        }
        run_rule(TopMostFilesRule(), processed_crash=processed_crash)
        assert "topmost_filenames" not in processed_crash

    def test_no_files_leaves_field_unset(self, run_rule):
        processed_crash = {
            "json_dump": {"threads": [{"frames": [{"function": "f"}]}]},
            "crashing_thread": 0,
        }
        run_rule(TopMostFilesRule(), processed_crash=processed_crash)
        assert "topmost_filenames" not in processed_crash


class TestModulesInStackRule:
    def test_real_windows_dump(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("test.dmp"), "crashing_thread": 0}
        run_rule(ModulesInStackRule(), processed_crash=processed_crash)
        # test.dmp's crashing stack: three test_app.exe frames, then a scan into kernel32.
        assert processed_crash["modules_in_stack"] == (
            "kernel32.dll/BCE8785C57B44245A669896B6A19B9542;test_app.exe/5A9832E5287241C1838ED98914E9B7FF1"
        )

    def test_format_and_filtering(self, run_rule):
        json_dump = {
            "modules": [
                {"filename": "xul.dll", "debug_id": "ABCDEF0123"},
                {"filename": "we ird/na;me.so", "debug_id": "12-34;zz"},
                {"filename": "nodebug.dll"},
                {"filename": "unused.dll", "debug_id": "FF"},
                {"debug_id": "00"},
                None,
            ],
            "threads": [
                {
                    "frames": [
                        {"module": "xul.dll"},
                        {"module": "xul.dll"},
                        {"module": "we ird/na;me.so"},
                        {"module": "nodebug.dll"},
                        {"module": None},
                        {"module": "not-in-module-list.dll"},
                        "garbage",
                    ]
                }
            ],
        }
        processed_crash = {"json_dump": json_dump, "crashing_thread": 0}
        run_rule(ModulesInStackRule(), processed_crash=processed_crash)
        assert (
            processed_crash["modules_in_stack"]
            == "nodebug.dll/;weirdname.so/1234;xul.dll/ABCDEF0123"
        )

    @pytest.mark.parametrize("crashing_thread", [None, 5, -1, "0"])
    def test_no_crashing_thread(self, run_rule, crashing_thread):
        json_dump = {
            "modules": [{"filename": "a", "debug_id": "1"}],
            "threads": [{"frames": [{"module": "a"}]}],
        }
        processed_crash = {"json_dump": json_dump, "crashing_thread": crashing_thread}
        run_rule(ModulesInStackRule(), processed_crash=processed_crash)
        assert "modules_in_stack" not in processed_crash

    def test_skipped_without_json_dump(self, run_rule):
        processed_crash = {"crashing_thread": 0}
        run_rule(ModulesInStackRule(), processed_crash=processed_crash)
        assert processed_crash == {"crashing_thread": 0}


class TestMissingSymbolsRule:
    def test_real_windows_dump(self, run_rule, stackwalk):
        json_dump = stackwalk("test.dmp")
        processed_crash = {"json_dump": json_dump}
        run_rule(MissingSymbolsRule(), processed_crash=processed_crash)
        # kernel32.dll is the only module the stackwalker asked for and did not find
        # (testdata README); its version comes from the dump's VS_FIXEDFILEINFO.
        kernel32 = next(m for m in json_dump["modules"] if m["filename"] == "kernel32.dll")
        assert processed_crash["missing_symbols"] == (
            f"kernel32.dll/5.1.2600.2945/BCE8785C57B44245A669896B6A19B9542/{kernel32['code_id']}"
        )

    def test_formats(self, run_rule):
        modules = [
            {
                "filename": "z.dll",
                "version": "1.0",
                "debug_id": "AB12",
                "code_id": "5f3e",
                "missing_symbols": True,
            },
            {
                "filename": "libc.so",
                "version": None,
                "debug_id": "CD34",
                "code_id": "",
                "missing_symbols": True,
            },
            {
                "filename": "odd.so",
                "version": "1/2",
                "debug_id": "EF-56!",
                "code_id": "zz",
                "missing_symbols": True,
            },
            {"filename": "nodebugid.so", "missing_symbols": True},
            {"filename": "bad name?.dll", "version": 7, "debug_id": None, "missing_symbols": True},
            {"filename": "found.dll", "debug_id": "00", "missing_symbols": False},
            {"filename": "truthy.dll", "debug_id": "00", "missing_symbols": "true"},
            {"filename": "", "debug_id": "00", "missing_symbols": True},
            {"debug_id": "00", "missing_symbols": True},
        ]
        processed_crash = {"json_dump": {"modules": modules}}
        run_rule(MissingSymbolsRule(), processed_crash=processed_crash)
        assert processed_crash["missing_symbols"].split(";") == [
            f"badname.dll/None/{'0' * 33}",
            "libc.so/None/CD34",
            f"nodebugid.so/None/{'0' * 33}",
            "odd.so/1\\/2/EF56",
            "z.dll/1.0/AB12/5f3e",
        ]

    @pytest.mark.parametrize(
        "modules", [[], None, [{"filename": "a", "missing_symbols": False}], "x"]
    )
    def test_unset_without_missing_modules(self, run_rule, modules):
        processed_crash = {"json_dump": {"modules": modules}}
        run_rule(MissingSymbolsRule(), processed_crash=processed_crash)
        assert "missing_symbols" not in processed_crash


class TestModuleURLRewriteRule:
    def run(self, run_rule, urls, rule=None):
        modules = [
            {"filename": f"m{index}.dll", "symbol_url": url} for index, url in enumerate(urls)
        ]
        status = run_rule(
            rule or ModuleURLRewriteRule(), processed_crash={"json_dump": {"modules": modules}}
        )
        return [module["symbol_url"] for module in modules], status.notes

    def test_socorro_defaults(self, run_rule):
        urls, notes = self.run(
            run_rule,
            [
                "https://symbols.mozilla.org/xul.pdb/ABC/xul.sym?code_file=xul.dll&code_id=5F3E",
                "https://SYMBOLS.mozilla.org:443/a/b/c.sym?x=1#frag",
                "http://localhost:8000/xul.pdb/ABC/xul.sym?token=secret",
                "https://other.example/x.sym?code_file=a.dll",
                "https://evil-symbols.mozilla.org.example/x.sym?a=1",
                None,
                "",
            ],
        )
        assert urls == [
            "https://symbols.mozilla.org/xul.pdb/ABC/xul.sym",
            "https://SYMBOLS.mozilla.org:443/a/b/c.sym#frag",
            None,
            "https://other.example/x.sym?code_file=a.dll",
            "https://evil-symbols.mozilla.org.example/x.sym?a=1",
            None,
            "",
        ]
        assert notes == ["Redacting symbol url for module m2.dll"]

    @pytest.mark.parametrize(
        "url",
        [
            "http://localhost/x.sym",
            "http://user:pw@LOCALHOST:1/x.sym",
            "http://symbols.localhost/x.sym",
            "http://127.0.0.1:8080/x.sym",
            "http://[::1]/x.sym",
            "http://[::1/x.sym",
        ],
    )
    def test_local_and_unparsable_urls_removed(self, run_rule, url):
        urls, notes = self.run(run_rule, [url])
        assert urls == [None]
        assert notes == ["Redacting symbol url for module m0.dll"]
        assert "pw" not in notes[0]

    def test_custom_hosts_and_code_info_queries(self, run_rule):
        rule = ModuleURLRewriteRule(
            strip_query_hosts=("Symbols.Example.com",), strip_code_info_queries=True
        )
        urls, _ = self.run(
            run_rule,
            [
                "https://symbols.example.com/a.sym?anything=1",
                "https://symbols.mozilla.org/a.sym?unrelated=1",
                "https://cdn.example/a.sym?code_id=5F3E&code_file=a.dll",
                "https://cdn.example/a.sym?code_file=",
            ],
            rule=rule,
        )
        assert urls == [
            "https://symbols.example.com/a.sym",
            "https://symbols.mozilla.org/a.sym?unrelated=1",
            "https://cdn.example/a.sym",
            "https://cdn.example/a.sym",
        ]

    def test_note_names_module(self, run_rule):
        modules = [
            {"debug_file": "xul.pdb", "symbol_url": "http://localhost/a"},
            {"filename": None, "symbol_url": "http://localhost/b"},
        ]
        status = run_rule(
            ModuleURLRewriteRule(), processed_crash={"json_dump": {"modules": modules}}
        )
        assert status.notes == [
            "Redacting symbol url for module xul.pdb",
            "Redacting symbol url for module unknown",
        ]

    def test_real_output_without_urls_unchanged(self, run_rule, stackwalk):
        json_dump = stackwalk("test.dmp")
        processed_crash = {"json_dump": copy.deepcopy(json_dump)}
        status = run_rule(ModuleURLRewriteRule(), processed_crash=processed_crash)
        assert processed_crash["json_dump"] == json_dump
        assert status.notes == []


class TestSoftErrorsRule:
    def test_real_linux_dump(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("linux-mini.dmp")}
        run_rule(SoftErrorsRule(), processed_crash=processed_crash)
        assert (
            json.loads(processed_crash["soft_errors"])
            == processed_crash["json_dump"]["soft_errors"]
        )
        assert "EPERM" in processed_crash["soft_errors"]

    def test_truncated(self, run_rule):
        processed_crash = {"json_dump": {"soft_errors": ["x" * 10000]}}
        run_rule(SoftErrorsRule(), processed_crash=processed_crash)
        assert processed_crash["soft_errors"] == json.dumps(["x" * 10000])[:4096]
        run_rule(SoftErrorsRule(max_length=5), processed_crash=processed_crash)
        assert processed_crash["soft_errors"] == '["xxx'

    @pytest.mark.parametrize("value", [[], {}, "", 0, False])
    def test_falsy_values_are_stored(self, run_rule, value):
        processed_crash = {"json_dump": {"soft_errors": value}}
        run_rule(SoftErrorsRule(), processed_crash=processed_crash)
        assert processed_crash["soft_errors"] == json.dumps(value)

    def test_null_is_stored_as_json_text(self, run_rule, stackwalk):
        # Socorro's predicate only asks whether the output has the key; its action stores
        # json.dumps(None).
        processed_crash = {"json_dump": stackwalk("test.dmp")}
        assert processed_crash["json_dump"]["soft_errors"] is None
        status = run_rule(SoftErrorsRule(), processed_crash=processed_crash)
        assert processed_crash["soft_errors"] == "null"
        assert status.notes == []

    @pytest.mark.parametrize(
        ("processed_crash", "runs"),
        [
            ({}, False),
            ({"json_dump": {}}, False),
            ({"json_dump": "OK"}, False),
            ({"json_dump": {"soft_errors": None}}, True),
            ({"json_dump": {"soft_errors": []}}, True),
            (
                {"json_dump": {"soft_errors": [{"WriteOsReleaseInfoFailed": {"IOError": "x"}}]}},
                True,
            ),
        ],
    )
    def test_predicate_is_whether_the_output_has_the_key(self, processed_crash, runs):
        assert SoftErrorsRule().predicate({}, {}, processed_crash, "/nonexistent", None) is runs

    def test_strings_are_stored_as_socorro_encodes_them(self, run_rule):
        errors = [
            "Received SIGPERM trying to stop process",
            "Thread 2 'Background' could not be stopped in time",
        ]
        processed_crash = {"json_dump": {"soft_errors": list(errors)}}
        run_rule(SoftErrorsRule(), processed_crash=processed_crash)
        assert processed_crash["soft_errors"] == (
            '["Received SIGPERM trying to stop process", '
            "\"Thread 2 'Background' could not be stopped in time\"]"
        )


class TestMacBootArgsRule:
    def test_copied(self, run_rule):
        processed_crash = {"json_dump": {"mac_boot_args": " -v debug=0x144 "}}
        status = run_rule(MacBootArgsRule(), processed_crash=processed_crash)
        assert processed_crash["mac_boot_args"] == "-v debug=0x144"
        assert processed_crash["has_mac_boot_args"] is True
        assert status.notes == []

    @pytest.mark.parametrize(
        "json_dump",
        [{"mac_boot_args": None}, {"mac_boot_args": ""}, {"mac_boot_args": "  "}, {}, [], None],
    )
    def test_nothing_to_copy(self, run_rule, json_dump):
        processed_crash = {"json_dump": json_dump}
        status = run_rule(MacBootArgsRule(), processed_crash=processed_crash)
        assert "mac_boot_args" not in processed_crash
        assert "has_mac_boot_args" not in processed_crash
        assert status.notes == []

    @pytest.mark.parametrize(
        "value, type_name", [(["-v"], "list"), (5, "int"), ({"a": "secret"}, "dict")]
    )
    def test_wrong_type_noted(self, run_rule, value, type_name):
        processed_crash = {"json_dump": {"mac_boot_args": value}}
        status = run_rule(MacBootArgsRule(), processed_crash=processed_crash)
        assert "mac_boot_args" not in processed_crash
        assert status.notes == [f"MacBootArgsRule: mac_boot_args is {type_name} and not str"]


class TestMacCrashInfoRule:
    INFO = {
        "num_records": 1,
        "records": [
            {"thread": "0x0000000000000001", "module": "/usr/lib/dyld", "message": "dyld: crashed"}
        ],
    }

    def test_serialised_with_sorted_keys(self, run_rule):
        processed_crash = {"json_dump": {"mac_crash_info": copy.deepcopy(self.INFO)}}
        run_rule(MacCrashInfoRule(), processed_crash=processed_crash)
        assert json.loads(processed_crash["mac_crash_info"]) == self.INFO
        assert processed_crash["mac_crash_info"] == json.dumps(self.INFO, sort_keys=True)

    @pytest.mark.parametrize(
        "json_dump",
        [
            {"mac_crash_info": {"num_records": 0, "records": []}},
            {"mac_crash_info": None},
            {},
            {"mac_crash_info": {"num_records": "1"}},
            {"mac_crash_info": {"num_records": True}},
            None,
        ],
    )
    def test_stale_value_removed(self, run_rule, json_dump):
        processed_crash = {"json_dump": json_dump, "mac_crash_info": "stale"}
        run_rule(MacCrashInfoRule(), processed_crash=processed_crash)
        assert "mac_crash_info" not in processed_crash


class TestReportTypeRule:
    @pytest.mark.parametrize("field", ["ipc_channel_error", "async_shutdown_timeout"])
    def test_hang_fields(self, run_rule, field):
        processed_crash = {field: ""}
        run_rule(ReportTypeRule(), processed_crash=processed_crash)
        assert processed_crash["report_type"] == "hang"

    def test_watchdog_in_crashing_thread(self, run_rule):
        threads = [
            {"frames": [{"function": "main"}]},
            {
                "frames": [
                    {"function": None},
                    {"function": "mozilla::(anonymous namespace)::RunWatchdog(void*)"},
                ]
            },
        ]
        processed_crash = {"json_dump": {"crash_info": {"crashing_thread": 1}, "threads": threads}}
        run_rule(ReportTypeRule(), processed_crash=processed_crash)
        assert processed_crash["report_type"] == "hang"

        processed_crash["json_dump"]["crash_info"]["crashing_thread"] = 0
        run_rule(ReportTypeRule(), processed_crash=processed_crash)
        assert processed_crash["report_type"] == "crash"

    @pytest.mark.parametrize("crashing_thread", [None, "x", -1, True, [], "1"])
    def test_crashing_thread_fallback(self, run_rule, crashing_thread):
        threads = [
            {"frames": [{"function": "RunWatchdog"}]},
            {"frames": [{"function": "RunWatchdog"}]},
        ]
        processed_crash = {
            "json_dump": {"crash_info": {"crashing_thread": crashing_thread}, "threads": threads}
        }
        run_rule(ReportTypeRule(), processed_crash=processed_crash)
        assert processed_crash["report_type"] == "hang"

    def test_real_dump_is_crash(self, run_rule, stackwalk):
        processed_crash = {"json_dump": stackwalk("test.dmp")}
        run_rule(ReportTypeRule(), processed_crash=processed_crash)
        assert processed_crash["report_type"] == "crash"

    def test_default_crash(self, run_rule):
        processed_crash = {}
        run_rule(ReportTypeRule(), processed_crash=processed_crash)
        assert processed_crash["report_type"] == "crash"


class TestShutDownHangCrashingThreadRule:
    @pytest.mark.parametrize(
        "signature, expected",
        [
            ("shutdownhang | WaitForSingleObjectEx | nsThread::Shutdown", 0),
            ("shutdownhang", 0),
            ("OOM | small", 3),
            ("Shutdownhang | x", 3),
            (None, 3),
            (["shutdownhang"], 3),
        ],
    )
    def test_signature(self, run_rule, signature, expected):
        processed_crash = {"signature": signature, "crashing_thread": 3}
        run_rule(ShutDownHangCrashingThreadRule(), processed_crash=processed_crash)
        assert processed_crash["crashing_thread"] == expected

    def test_no_signature(self, run_rule):
        processed_crash = {}
        run_rule(ShutDownHangCrashingThreadRule(), processed_crash=processed_crash)
        assert processed_crash == {}
