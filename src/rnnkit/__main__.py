"""``python -m rnnkit ...``: the ``rnnkit`` command, for a checkout that is not pip-installed."""

import sys

from rnnkit.cli.main import main

sys.exit(main())
