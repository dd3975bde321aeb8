"""bench/send_order.py's "order off": on a PYTHONPATH before the checkout, the wa-workers of
this checkout run without sending order (no tickets taken, no send registered or held back),
all else the same. Never on a real daemon's path."""

from wagw import rqcompat
from workers.wa import gate

_taker_queue_class = rqcompat.taker_queue_class


def _untickted(worker_name, stopping=None, ticket_keys=None):
    return _taker_queue_class(worker_name, stopping=stopping)


def _admit(self, job, queue):
    return True


def _ended(self, job, went_out, final, pipeline=None):
    return None


rqcompat.taker_queue_class = _untickted
gate.SendGate.admit = _admit
gate.SendGate.ended = _ended
