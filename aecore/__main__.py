"""Entry point for ``python -m aecore``."""

import sys

from aecore.cli import main

sys.exit(main())
