"""Entry point for ``python -m em_simulator``."""

import sys

from em_simulator.cli import main

sys.exit(main())
