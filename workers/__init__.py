"""Code that runs inside the isolated worker processes. Job paths here are public (SPEC)."""

import sys

# httpx's package init imports its command line (click, rich, pygments: ~4 MB a process)
# whenever those are installed; no worker runs it, so that import fails into httpx's stub.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
