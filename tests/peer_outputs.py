"""rust-minidump's outputs for the test dumps, live from the peer or stored in tests/data/peer.

The differential tests compare our stackwalker with minidump-stackwalk 0.25 (the peer). The
peer is a binary fetched from a registry wheel, so it can be missing; its outputs for the
dumps in tests/data are therefore checked in (`tools/record-peer-outputs` writes them), and a
test asks `PeerOutputs.get(dump, variant)`: live when the binary is here (and then the stored
file must still agree, so it cannot go stale), the stored file otherwise.

A variant is one way the tests run the peer on a dump. What is stored is the peer's stdout
byte for byte (compact JSON), or only the part the tests compare where that is much smaller
(`no-symbols`: each frame's module, offset, function and trust). The `human-*` variants
keep the peer's `--human` report verbatim (stored as `.txt`). `--pretty` output is not
stored: it is exactly `json.dumps(doc, indent=2)` of the compact document (no final newline), which the
live mode checks each time.

Run `python -m tests.peer_outputs record PEER` (what tools/record-peer-outputs does) to
regenerate every file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TESTDATA = Path(__file__).resolve().parent / "data"
STORED = TESTDATA / "peer"
SYMBOLS = TESTDATA / "symbols"
EVIL_JSON = TESTDATA / "evil.json"
DUMPS = sorted(TESTDATA.glob("*.dmp"))


def frames_only(doc: dict) -> dict:
    """What the frame comparisons read: per thread, per frame (module, offset, function, trust)."""
    keys = ("module", "module_offset", "function", "trust")
    return {
        "threads": [
            {"frames": [{k: f[k] for k in keys} for f in thread["frames"]]}
            for thread in doc["threads"]
        ]
    }


@dataclass(frozen=True)
class Variant:
    """How the tests run the peer on a dump, and what of its output is kept."""

    name: str
    args: Callable[[Path], list[str]]  # arguments after `minidump-stackwalk --json`
    keep: Callable[[dict], dict] | None = None  # None: stdout verbatim
    output: str = "--json"  # or "--human": the report, kept verbatim

    @property
    def suffix(self) -> str:
        return ".txt" if self.output == "--human" else ".json"


VARIANTS = {
    v.name: v
    for v in (
        Variant("symbols", lambda dump: [str(dump), str(SYMBOLS)]),
        Variant("no-symbols", lambda dump: [str(dump)], frames_only),
        Variant(
            "evil-json",
            lambda dump: ["--evil-json", str(EVIL_JSON), str(dump), str(SYMBOLS)],
        ),
        Variant("human-symbols", lambda dump: [str(dump), str(SYMBOLS)], output="--human"),
        Variant("human-no-symbols", lambda dump: [str(dump)], output="--human"),
        Variant(
            "human-brief-evil-json",
            lambda dump: ["--brief", "--evil-json", str(EVIL_JSON), str(dump), str(SYMBOLS)],
            output="--human",
        ),
    )
}


@dataclass(frozen=True)
class PeerOutput:
    returncode: int
    stdout: str  # the peer's JSON (or its kept part) or report; empty when it failed
    live: bool

    def json(self) -> dict:
        assert self.returncode == 0, f"the peer failed on this dump (exit {self.returncode})"
        return json.loads(self.stdout)

    def pretty(self) -> str:
        """The peer's `--pretty` text (derived from the compact JSON, see the module doc)."""
        return json.dumps(self.json(), indent=2)


def stored_path(dump: Path, variant: str) -> Path:
    return STORED / f"{dump.name}.{variant}{VARIANTS[variant].suffix}"


def failure_path(dump: Path, variant: str) -> Path:
    """Where a run that printed no JSON keeps its exit status."""
    return STORED / f"{dump.name}.{variant}.exit-status"


def run_live(peer: Path, dump: Path, variant: str, pretty: bool = False) -> PeerOutput:
    v = VARIANTS[variant]
    proc = subprocess.run(
        [str(peer), v.output, *(["--pretty"] if pretty else []), *v.args(dump)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0 or v.keep is None:
        return PeerOutput(proc.returncode, proc.stdout, live=True)
    return PeerOutput(0, compact(v.keep(json.loads(proc.stdout))), live=True)


def compact(doc: dict) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"


def read_stored(dump: Path, variant: str) -> PeerOutput:
    failed = failure_path(dump, variant)
    if failed.is_file():
        return PeerOutput(int(failed.read_text()), "", live=False)
    path = stored_path(dump, variant)
    if not path.is_file():
        raise FileNotFoundError(
            f"no stored peer output {path.relative_to(TESTDATA.parent.parent)}: "
            "run tools/record-peer-outputs"
        )
    return PeerOutput(0, path.read_text(encoding="utf-8"), live=False)


def write_stored(output: PeerOutput, dump: Path, variant: str) -> None:
    STORED.mkdir(exist_ok=True)
    stored_path(dump, variant).unlink(missing_ok=True)
    failure_path(dump, variant).unlink(missing_ok=True)
    if output.returncode != 0:
        failure_path(dump, variant).write_text(f"{output.returncode}\n")
    else:
        stored_path(dump, variant).write_text(output.stdout, encoding="utf-8")


class PeerOutputs:
    """The peer's outputs: `peer` is the binary, or None to read the stored files."""

    def __init__(self, peer: Path | None) -> None:
        self.peer = peer

    @property
    def live(self) -> bool:
        return self.peer is not None

    def get(self, dump: Path, variant: str) -> PeerOutput:
        stored = read_stored(dump, variant)
        if self.peer is None:
            return stored
        live = run_live(self.peer, dump, variant)
        assert (live.returncode, live.stdout) == (stored.returncode, stored.stdout), (
            f"tests/data/peer is stale for {dump.name} ({variant}): run tools/record-peer-outputs"
        )
        return live

    def pretty(self, dump: Path, variant: str) -> str:
        """`--pretty` output; live, it is also checked against the stored compact JSON."""
        derived = self.get(dump, variant).pretty()
        if self.peer is not None:
            live = run_live(self.peer, dump, variant, pretty=True)
            assert live.stdout == derived, "--pretty is no longer json.dumps(indent=2)"
        return derived


def record(peer: Path) -> list[Path]:
    """(Re)write every stored output with `peer`; returns the files written."""
    written = []
    for dump in DUMPS:
        for variant in VARIANTS:
            output = run_live(peer, dump, variant)
            write_stored(output, dump, variant)
            written.append(
                failure_path(dump, variant) if output.returncode else stored_path(dump, variant)
            )
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "record":
        print("usage: python -m tests.peer_outputs record PEER", file=sys.stderr)
        return 2
    for path in record(Path(argv[1])):
        print(path.relative_to(TESTDATA.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
