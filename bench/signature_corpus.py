"""A deterministic corpus of varied crash-data documents for the signature benchmark.

Generated at run time (nothing checked in): native stacks for every OS with C++, Rust and
Objective-C symbols in their raw, un-normalized forms, inline frames, module-only,
file#line, offset-only and unloaded-module frames, sentinels, irrelevant and prefix
frames, plus Java crashes and every annotation a rule reads. The same seed always gives
the same corpus, so runs are comparable.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

VCS = "hg:hg.mozilla.org/mozilla-central:{path}:4a6b8e3f1c2d9e7a5b0c1d2e3f4a5b6c7d8e9f0a"

CPP = [
    "nsDocShell::Destroy()",
    "void nsDocumentViewer::DestroyPresShell()",
    "mozilla::dom::ContentParent::ActorDestroy(mozilla::ipc::IProtocol::ActorDestroyReason)",
    "static bool js::gc::GCRuntime::collect(bool, js::SliceBudget const&, JS::GCReason)",
    "mozilla::net::Http2Session::WriteSegmentsAgain(nsAHttpSegmentWriter*, unsigned int, unsigned int*, bool*)",
    "nsTArray_Impl<RefPtr<mozilla::dom::Element>, nsTArrayInfallibleAllocator>::ElementAt(unsigned long)",
    "mozilla::Maybe<unsigned long>::value() const &",
    "Alpha<Bravo<Charlie>, Delta>::Echo<Foxtrot>(int, char const*)",
    "JS::Heap<JSObject*>::operator JSObject* const &()",
    "std::function<void()>::operator()() const",
    "mozilla::SpinEventLoopUntil<(mozilla::ProcessFailureBehavior)1, (anonymous namespace)::Foo&&>(nsTSubstring<char> const&, (anonymous namespace)::Foo&&, nsIThread*)",
    "`anonymous namespace'::ShutdownWorkThreads::$_52::__invoke(void*)",
    "ShutdownWorkThreads::$_52::__invoke",
    "foo::{lambda()#1}::operator()() const",
    "mozilla::layers::CompositorBridgeParent::CompositeToTarget(unsigned long, mozilla::gfx::DrawTarget*, mozilla::gfx::IntRectTyped<mozilla::gfx::UnknownUnits> const*)",
    "IPC::ParamTraits<nsTSubstring<char> >::Write(IPC::Message *,nsTSubstring<char> const &)",
    "IPC::ParamTraits<mozilla::net::NetAddr>::Write(IPC::MessageWriter*, mozilla::net::NetAddr const&)",
    "bool operator<(mozilla::TimeStamp const&, mozilla::TimeStamp const&)",
    "mozilla::TimeStamp::operator<(mozilla::TimeStamp const&) const",
    "std::strong_ordering mozilla::Foo::operator<=>(mozilla::Foo const&) const",
    "std::ostream& operator<<(std::ostream&, nsTSubstring<char> const&)",
    "mozilla::Foo::operator<<(int)",
    "nsFoo::Baz(int) [clone .isra.0]",
    "nsFoo::Bar(int) [clone .cold.222]",
    "-[GeckoNSApplication sendEvent:]",
    "unsigned int __cdecl thread_start<unsigned int (__cdecl*)(void*)>(void*)",
    "__stdcall FooBar(void*)",
    "void* operator new(unsigned long)",
    "operator new[](unsigned long)",
    "mozilla::dom::Foo::Getconst",
    "mozilla::detail::RunnableFunction<mozilla::dom::Bar::Baz()::$_3>::Run()",
    "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop",
    "js_Interpret",
    "nsXULPopupManager::HidePopup(nsIContent*, mozilla::EnumSet<HidePopupOption, unsigned char>, nsIContent*)",
    "bar(Foo::operator_thing)",
    "mozilla::wr::RenderThread::UpdateAndRender(mozilla::wr::WrWindowId, mozilla::layers::BaseTransactionId<mozilla::VsyncIdType> const&, bool)",
    "a(b(c)d)e",
    "mozilla::ipc::MessageChannel::Send(mozilla::UniquePtr<IPC::Message, mozilla::DefaultDelete<IPC::Message> >)",
    "std::_Function_handler<void (), mozilla::Foo::Bar()::{lambda()#1}>::_M_invoke(std::_Any_data const&)",
    "all\tgood::tabbed()",
    "nsCycleCollector::Collect(CCReason, ccIsManual, js::SliceBudget&, nsICycleCollectorListener*, bool)",
    "mozilla::dom::ÉlémentÜnicode::Run()",
    "Foo::Bar() volatile",
    "<unknown in ntdll.pdb>",
    "<name omitted>",
    "IPC::ParamTraits<mozilla::Maybe<IPC::ParamTraits<int> > >::Read(IPC::MessageReader*)",
    "mozilla::Foo<(anonymous namespace)::Bar>::Baz()",
    "nsTHashtable<nsBaseHashtableET<nsCStringHashKey, int> >::s_ClearEntry(PLDHashTable*, PLDHashEntryHdr*)",
]

RUST = [
    ("core::panicking::panic_fmt::h9d2e4d1b0b21c3aa", "src/libcore/panicking.rs"),
    ("core::panicking::panic", "/rustc/abc/library/core/src/panicking.rs"),
    ("panic", "git:github.com/rust-lang/rust:src/libcore/panicking.rs:abc"),
    ("panic_bounds_check", "git:github.com/rust-lang/rust:src/libcore/panicking.rs:abc"),
    ("expect_failed", "git:github.com/rust-lang/rust:src/libcore/option.rs:abc"),
    ("std::panicking::begin_panic<&str>", "/rustc/abc/library/std/src/panicking.rs"),
    (
        "<hashbrown::raw::RawTable<T,A> as core::ops::drop::Drop>::drop::h6f7e8d9c0b1a2938",
        "/builds/hashbrown/src/raw/mod.rs",
    ),
    (
        "<rayon_core::job::HeapJob<BODY> as rayon_core::job::Job>::execute",
        "/builds/rayon/src/job.rs",
    ),
    (
        "style::properties::cascade::cascade_rules",
        "/builds/servo/components/style/properties/cascade.rs",
    ),
    ("mylib::list::head", "/builds/mylib/src/list.rs"),
    ("alloc::alloc::handle_alloc_error::rt_error", "/rustc/abc/library/alloc/src/alloc.rs"),
    ("core::result::unwrap_failed", "/rustc/abc/library/core/src/result.rs"),
    (
        "webrender::renderer::Renderer::render_impl(webrender::Foo<u8>)",
        "/builds/webrender/src/renderer/mod.rs",
    ),
    ("alloc::oom::oom", "/rustc/abc/library/alloc/src/oom.rs"),
    (
        "wgpu_core::device::resource::Device::create_buffer::h0123456789abcdef",
        "relative/src/device.rs",
    ),
]

IRRELEVANT = [
    "NtWaitForMultipleObjects",
    "KiFastSystemCallRet",
    "RtlUserThreadStart",
    "_purecall",
    "MOZ_CrashPrintf",
    "mozalloc_abort",
    "mozalloc_handle_oom",
    "moz_xmalloc",
    "RustMozCrash",
    "std::__1::__function::__func<Foo, std::__1::allocator<Foo>, void ()>::operator()()",
    "_pthread_start",
    "__GI_raise",
    "_sigtramp",
    "mozilla::detail::MutexImpl::lock()",
    "RefPtr<nsIFoo>::operator->() const",
    "nsCOMPtr<nsIFoo>::get() const",
    "zero_memory",
    "core::option::unwrap_failed",
    "g_malloc",
    "std::unique_ptr<Foo>::reset()",
    "__assert_fail",
    "mozilla::detail::InvalidArrayIndex_CRASH(unsigned long, unsigned long)",
]

PREFIX = [
    "Abort",
    "arena_dalloc",
    "malloc",
    "memcpy",
    "memset",
    "strlen",
    "raise",
    "IPC::Foo::Bar()",
    "NS_ABORT_OOM(unsigned long)",
    "mozilla::SpinEventLoopUntil<Foo>(Bar)",
    "WaitForSingleObjectEx",
    "MsgWaitForMultipleObjects",
    "nsThread::ProcessNextEvent(bool, bool*)",
    "core::option::expect_failed",
    "CrashAtUnhandlableOOM(unsigned long)",
    "mozilla::ipc::RPCChannel::Call(IPC::Message*, IPC::Message*)",
    "mozilla::Array<int, 4>::operator[](unsigned long)",
    "ElementAt",
    "mozilla::(anonymous namespace)::RunWatchdog(void*)",
]

MODULES = [
    "xul.dll",
    "ntdll.dll",
    "KERNELBASE.dll",
    "libxul.so",
    "XUL",
    "libc.so.6",
    "[kernel32.dll]",
    "libGLX_nvidia.so.0",
    "nvoglv64.dll",
]
OSES = ["Windows NT", "Linux", "Mac OS X", "Android", None]
REASONS = [
    "EXCEPTION_ACCESS_VIOLATION_READ",
    "SIGSEGV / SEGV_MAPERR",
    "EXCEPTION_STACK_OVERFLOW",
    "EXCEPTION_IN_PAGE_ERROR_READ / STATUS_DEVICE_DATA_ERROR",
    "STATUS_FATAL_MEMORY_EXHAUSTION",
    "STATUS_NO_MEMORY",
    "EXCEPTION_BREAKPOINT",
]


def _frame(rng: random.Random, number: int, windows: bool) -> dict[str, Any]:
    module = rng.choice(MODULES) if windows or rng.random() < 0.5 else rng.choice(MODULES[3:])
    frame: dict[str, Any] = {
        "frame": number,
        "module": module,
        "module_offset": hex(rng.randrange(1 << 20)),
        "offset": f"0x{rng.randrange(1 << 40):016x}",
        "trust": "cfi" if number else "context",
    }
    kind = rng.random()
    if kind < 0.45:
        frame["function"] = rng.choice(CPP)
        frame["file"] = VCS.format(path=f"dom/base/File{rng.randrange(50)}.cpp")
        frame["line"] = rng.randrange(1, 3000)
    elif kind < 0.58:
        frame["function"], frame["file"] = rng.choice(RUST)
        frame["line"] = rng.randrange(1, 3000)
    elif kind < 0.70:
        frame["function"] = rng.choice(IRRELEVANT)
    elif kind < 0.80:
        frame["function"] = rng.choice(PREFIX)
    elif kind < 0.85:
        frame["file"] = rng.choice(
            [VCS.format(path="dom/x/Y.cpp"), "c:\\build\\src\\z.cpp", "/a/b/"]
        )
        frame["line"] = rng.randrange(1, 500)
    elif kind < 0.90:
        pass  # module only
    elif kind < 0.94:
        del frame["module"]
        del frame["module_offset"]
        frame["offset"] = rng.choice(["0x0", "0x0000000000000007", "deadbeef", frame["offset"]])
    elif kind < 0.97:
        del frame["module"]
        frame["unloaded_modules"] = [{"module": "gone.dll", "offsets": ["0x10"]}]
    else:
        frame["function"] = rng.choice(CPP)
        frame["inlines"] = [
            {"function": rng.choice(CPP), "file": VCS.format(path="a/b.h"), "line": 3}
            for _ in range(rng.randrange(1, 4))
        ]
    return frame


def _annotations(rng: random.Random, crash: dict[str, Any]) -> None:
    if rng.random() < 0.1:
        crash["oom_allocation_size"] = rng.choice([10, 262144, 300000, 2**31, "4096", None])
    if rng.random() < 0.05:
        crash["js_large_allocation_failure"] = "Reporting"
    if rng.random() < 0.08:
        crash["abort_message"] = rng.choice(
            [
                "###!!! ABORT: file foo.cpp, line 12",
                "[Parent 1234] ###!!! ABORT: Aborting on channel error.: file ipc.cpp:2",
                "unable to find a usable font (Schriftart nicht gefunden)",
                "x" * 120,
                "tab\there ünïcode",
            ]
        )
    if rng.random() < 0.05:
        crash["async_shutdown_timeout"] = rng.choice(
            [
                json.dumps({"phase": "profile-before-change", "conditions": [{"name": "b"}, "a"]}),
                json.dumps({"phase": 3, "conditions": []}),
                "{not json",
            ]
        )
    if rng.random() < 0.05:
        crash["ipc_channel_error"] = "ShutDownKill"
        crash["additional_minidumps"] = rng.choice([["upload_file_minidump_browser"], []])
    if rng.random() < 0.08:
        crash["ipc_message_name"] = rng.choice(["PContent::Msg_Foo", "PHal::Msg_X"])
    if rng.random() < 0.1:
        crash["hang"] = rng.choice(["ui", "shutdown"])
    if rng.random() < 0.4:
        crash["reason"] = rng.choice(REASONS)
    if rng.random() < 0.1:
        crash["mdsw_status_string"] = rng.choice(["OK", "ERROR_NO_THREAD_LIST", "EmptyMinidump"])


def _java(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {
            "java_stack_trace": rng.choice(
                [
                    "java.lang.NullPointerException: Attempt to invoke on null @0badf00d\n"
                    "\tat org.mozilla.Foo.bar(Foo.java:42)\n\tat x.Y.z(Y.java:1)",
                    "java.lang.IllegalStateException\n\tat a.B.c(B.kt:55)",
                    "java.lang.OutOfMemoryError: Failed to allocate\n",
                    "malformed",
                ]
            )
        }
    return {
        "java_exception": {
            "exception": {
                "values": [
                    {
                        "stacktrace": {
                            "type": "IOException",
                            "module": rng.choice(["java.io", ""]),
                            "frames": [
                                {
                                    "module": "org.mozilla.fenix.ext.AddonManagerKt",
                                    "function": "getFenixAddons",
                                    "filename": "AddonManager.kt",
                                }
                            ][: rng.randrange(2)],
                        }
                    }
                ]
            }
        }
    }


def build_corpus(count: int = 600, seed: int = 20261121) -> list[dict[str, Any]]:
    """``count`` crash-data documents; about 8% Java, the rest native stacks."""
    rng = random.Random(seed)
    corpus = []
    for _ in range(count):
        if rng.random() < 0.08:
            crash = _java(rng)
        else:
            os_name = rng.choice(OSES)
            windows = os_name == "Windows NT"
            threads = []
            for _thread in range(rng.randrange(1, 5)):
                frames = [_frame(rng, n, windows) for n in range(rng.randrange(0, 60))]
                thread: dict[str, Any] = {"frames": frames, "frame_count": len(frames)}
                if windows and rng.random() < 0.05:
                    thread["last_error_value"] = "ERROR_COMMITMENT_LIMIT"
                threads.append(thread)
            crash = {"os": os_name, "threads": threads}
            if rng.random() < 0.95:
                crash["crashing_thread"] = rng.randrange(len(threads))
        _annotations(rng, crash)
        corpus.append(crash)
    return corpus


def write_corpus(directory: Path, count: int = 600) -> list[Path]:
    """Write the corpus as one JSON file per crash; returns the paths in order."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, crash in enumerate(build_corpus(count)):
        path = directory / f"crash-{number:04d}.json"
        path.write_text(json.dumps(crash), encoding="utf-8")
        paths.append(path)
    return paths
