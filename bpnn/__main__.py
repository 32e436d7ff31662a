"""``python -m bpnn`` runs the ``bpnn`` command."""

import sys

from .cli import main

sys.exit(main())
