"""The installed distribution claims names no other installed package claims.

Our import names are generic (``processor``, ``schemas``, ``signature``, ``symbols``,
``stackwalk``, ``crashproc``) and so are some command names: installing another package that
ships the same name would overwrite ours (siggen, the signature peer of bench/, installs a
``signature`` script, which is why ours is ``crashproc-signature``). In this environment, with
every extra and the bench peers installed by ``make``, nothing else may claim them.
"""

from __future__ import annotations

from importlib import metadata

import crashproc

TOP_LEVEL = ("crashproc", "processor", "schemas", "signature", "stackwalk", "symbols", "webstack")
SCRIPTS = (
    "crashproc",
    "crashproc-signature",
    "process-crash",
    "reprocess-crash",
    "stackwalk",
    "symbols",
)


def test_our_import_names_are_ours_alone():
    owners = metadata.packages_distributions()
    for name in TOP_LEVEL:
        claimants = set(owners.get(name, [])) - {crashproc.DISTRIBUTION}
        assert not claimants, f"{name!r} is also installed by {sorted(claimants)}"


def test_our_commands_are_ours_alone():
    scripts = metadata.entry_points(group="console_scripts")
    for name in SCRIPTS:
        owners = {ep.dist.name for ep in scripts if ep.name == name and ep.dist is not None}
        assert owners == {crashproc.DISTRIBUTION}, f"{name}: {sorted(owners)}"


def test_the_wheel_ships_the_data_files_and_not_the_test_kit(tmp_path):
    """What `pip install crashproc` gets: every YAML the code reads at run time (settings,
    rulesets, schemas, metrics), and not stackwalk.testing (a test-dump builder for the
    checkout's tests and benches)."""
    import shutil
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    had_build = (repo / "build").exists()
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "-w",
                str(tmp_path),
                str(repo),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    finally:
        if not had_build:  # setuptools builds in the tree; leave the checkout as it was
            shutil.rmtree(repo / "build", ignore_errors=True)
    (wheel,) = tmp_path.glob("crashproc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "crashproc/settings.yaml",
        "processor/rulesets/default.yaml",
        "processor/rulesets/regenerate_signature.yaml",
        "processor/rulesets/ruleset.schema.yaml",
        "processor/metrics.yaml",
        "schemas/processed_crash.schema.yaml",
        "schemas/raw_crash.schema.yaml",
    ):
        assert needed in names, needed
    assert not [name for name in names if name.startswith("stackwalk/testing")]
