"""`python -m pyups` runs the same entry point as the `pyups` command."""

import sys

from pyups.cli import main

sys.exit(main())
