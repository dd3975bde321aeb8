"""The wa-worker: RQ jobs `workers.wa.<operation>` (public paths, one per row of
wagw.operations.OPERATIONS), the worker process that runs them, and the native host it owns.

Only the job functions and the errors whose names job failures show (OutcomeUnknown,
ReachOutLimited, MediaDownloadFailed, ImageDownloadFailed; defined in wagw.errors) are published here; the
worker (`worker`), the host (`host`) and its client (`host_client`) are modules of this
package. A wa-worker runs only the job paths (wagw.operations.JOB_PATHS).
"""

from __future__ import annotations

import importlib
from typing import Any

_ERRORS = ("OutcomeUnknown", "ReachOutLimited", "MediaDownloadFailed", "ImageDownloadFailed")


# On first use, not at import: the native host (`python -m workers.wa.host`) imports this
# package too, and must not carry the jobs' imports (rq, the media checks) it never runs.
def __getattr__(name: str) -> Any:
    if name in _ERRORS:
        return getattr(importlib.import_module("wagw.errors"), name)
    jobs = importlib.import_module("workers.wa.jobs")  # `from … import` would recurse here
    if name == "__all__":
        return ["OutcomeUnknown", *sorted(jobs.JOBS)]
    if name in jobs.JOBS:
        return jobs.JOBS[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
