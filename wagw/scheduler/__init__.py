"""The scheduler process (`wagw scheduler`): RQ's scheduler for retries with an interval, and
the reaper that rescues jobs stranded by workers that died."""
