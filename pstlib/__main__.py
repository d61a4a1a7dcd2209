"""``python -m pstlib``: the same as the ``pstlib`` command."""

import sys

from pstlib.cli import main

sys.exit(main())
