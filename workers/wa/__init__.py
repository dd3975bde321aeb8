"""The wa-worker: RQ jobs `workers.wa.<operation>` (public paths, one per row of
wagw.operations.OPERATIONS), the worker process that runs them, and the native host it owns.

Only the job functions and OutcomeUnknown (an error name job failures show) are published
here; the worker (`worker`), the host (`host`) and its client (`host_client`) are modules of
this package. A wa-worker runs only the job paths (wagw.operations.JOB_PATHS).
"""

from workers.wa.jobs import JOBS, OutcomeUnknown

globals().update(JOBS)
__all__ = ["OutcomeUnknown", *sorted(JOBS)]
