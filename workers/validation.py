"""`workers.validation.InvalidArguments`: the name a job that failed for its arguments shows
(docs/jobs.md, "Errors"), importable under that name. It is defined in wagw.errors."""

from wagw.errors import InvalidArguments

__all__ = ["InvalidArguments"]
