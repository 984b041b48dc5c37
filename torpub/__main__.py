"""``python -m torpub``: the same as the ``torpub`` command."""

import sys

from torpub.cli import main

sys.exit(main())
