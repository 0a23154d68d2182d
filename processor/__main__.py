"""``python -m processor`` is the ``crashproc`` command."""

import sys

from processor.cli import main

sys.exit(main())
