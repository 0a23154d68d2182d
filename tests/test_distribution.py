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

TOP_LEVEL = ("crashproc", "processor", "schemas", "signature", "stackwalk", "symbols")
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
