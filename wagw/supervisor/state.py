"""The supervisor's children run the one child state machine: wagw.childstate (shared with
each wa-worker's native host). Its names, as the supervisor's modules import them."""

from __future__ import annotations

from wagw.childstate import Child, ChildSpec, RestartPolicy, State

__all__ = ["Child", "ChildSpec", "RestartPolicy", "State"]
