"""The wa-worker: RQ jobs `workers.wa.<operation>` (public paths, one per row of
wagw.operations.OPERATIONS), the worker process that runs them, and the native host it owns.

Only the job functions are published here; the worker (`worker`), the host (`host`) and its
client (`host_client`) are modules of this package.
"""

from workers.wa.jobs import JOBS

globals().update(JOBS)
__all__ = sorted(JOBS)
