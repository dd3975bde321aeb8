"""`python -m wagw.forkserver FD`: started by `wagw run` (wagw.supervisor.forking)."""

import sys

from wagw.forkserver.server import main

raise SystemExit(main(sys.argv[1:]))
