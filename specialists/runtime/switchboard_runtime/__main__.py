"""``python -m switchboard_runtime``: run the specialist socket server."""

import sys

from switchboard_runtime.server import main

sys.exit(main())
