"""``python -m livn_rl.cli``: the same as the ``livn-rl`` command."""

import sys

from livn_rl.cli.main import main

sys.exit(main())
