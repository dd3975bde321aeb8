"""`wagw status`: the supervisor's process table, devices, queues, crashes, quarantines,
poisoned targets, reach-out holds and dead-lettered ids.

Everything is read from Redis, where each process keeps its own entry alive with a TTL
heartbeat: a dead supervisor or session simply disappears.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from wagw import accounts, deadletter, devices, headroom, keys, reachout, sendorder, serving
from wagw.devices import DeviceState
from wagw.exitcodes import ExitCode, fatal_fix
from wagw.redisconn import SERIALIZER, as_text, connect, memory

if TYPE_CHECKING:
    import argparse

    from wagw.config import Settings


def queue_counts(conn: Redis, name: str) -> dict[str, int]:
    queue = Queue(name, connection=conn, serializer=SERIALIZER)
    # cleanup=False: a status read observes; rq's cleanup would also hand expired started
    # jobs to their Retry, racing the scheduler's reaper (rqcompat.expire_now).
    return {
        "queued": queue.count,
        "started": StartedJobRegistry(name, connection=conn, serializer=SERIALIZER).get_job_count(cleanup=False),
        "failed": FailedJobRegistry(name, connection=conn, serializer=SERIALIZER).get_job_count(cleanup=False),
        "scheduled": ScheduledJobRegistry(name, connection=conn, serializer=SERIALIZER).get_job_count(cleanup=False),
    }


def device_status(conn: Redis, role: str, account: str | None = None) -> dict:
    live = devices.read(conn, role)
    recorded_jid = as_text(conn.hget(keys.DEVICE_JIDS, role))
    paired = live.get("paired") == "1" if "paired" in live else recorded_jid is not None
    state = live.get("state") or DeviceState.OFFLINE  # no heartbeat: its process is not running
    entry = {
        "role": role,
        "account": account,
        "paired": paired,
        "connected": live.get("connected") == "1",
        "jid": live.get("jid") or recorded_jid,
        "state": state,
    }
    waiting = waiting_hint(state, role, live.get("retry_at"))
    if waiting:
        entry["hint"] = waiting
    elif not paired:
        entry["hint"] = f"run `wagw pair --role {role}`"
    elif devices.stalled(live) or live.get("blocked_since"):
        # Alive, but Redis refuses its writes: a session holds its events (docs/session.md).
        entry["blocked"] = live.get("blocked_reason") or "Redis refuses its writes"
        entry["hint"] = f"blocked: {entry['blocked']}"
    return entry


def waiting_hint(state: str, role: str, retry_at: str | None) -> str | None:
    """What a device logged out, replaced or temporarily banned waits for, and the fix."""
    if state == DeviceState.TEMPORARY_BAN:
        try:
            when = time.strftime("%H:%M:%S", time.localtime(float(retry_at or "")))
        except ValueError:
            return "temporarily banned by WhatsApp: tries again after a long pause; slow down what apps send"
        return f"temporarily banned by WhatsApp: tries again at {when}; slow down what apps send"
    if state in (DeviceState.LOGGED_OUT, DeviceState.STREAM_REPLACED):
        return fatal_fix(devices.exit_leaving(state), role)
    return None


def supervisors(conn: Redis) -> list[dict]:
    """The live status of every daemon on this Redis (one, or one per `--accounts` set)."""
    return serving.daemons(conn)


SHOWN_CRASHES = 10


def account_of_record(record: dict) -> str | None:
    """The account a crash, quarantine or poison record is about; None for a shared process.

    Operations are scoped per account (Account.scoped: `sales/fetch_avatar`, the operation
    alone for `default`); with several accounts, an account's process names start with it
    (`sales/session`). A record of an unqualified process names a shared one, or comes from
    a single-account daemon, whose view shows everything anyway.
    """
    operation = record.get("operation")
    if isinstance(operation, str) and operation:
        prefix, sep, _ = operation.rpartition("/")
        return prefix if sep else accounts.DEFAULT
    prefix, sep, _ = str(record.get("process") or "").partition("/")
    return prefix if sep else None


def collect(settings: Settings, conn: Redis, account: str | None = None) -> dict:
    from wagw.quarantine import active_poisons, active_quarantines
    from wagw.webhooks.replay import failed_deliveries

    daemons = supervisors(conn)
    supervisor = daemons[0] if daemons else None
    configured = accounts.Roster.load(settings).configured
    shown = [a for a in configured if account is None or a.name == account]
    processes = [{**p, "host": daemon.get("host")} for daemon in daemons for p in daemon["processes"]]
    if account is not None:
        processes = [p for p in processes if p.get("account") == account]
    crashes = [json.loads(item) for item in conn.lrange(keys.CRASHES, 0, -1 if account else SHOWN_CRASHES - 1)]
    quarantines, poisons = active_quarantines(conn), active_poisons(conn)
    if account is not None and len(configured) > 1:

        def mine(records: list[dict]) -> list[dict]:
            return [record for record in records if account_of_record(record) == account]

        crashes, quarantines, poisons = mine(crashes), mine(quarantines), mine(poisons)
    queue_names = [a.queue for a in shown]
    if account is None:
        queue_names = [keys.WA_QUEUE, *queue_names, keys.WEBHOOKS_QUEUE]
    elif shown and shown[0].primary:
        queue_names.append(keys.WA_QUEUE)
    redis_memory = memory(conn)
    room = headroom.measure(conn, settings, redis_memory)
    if redis_memory is not None and room is not None:
        redis_memory.update(room.as_dict())
    device_list = [device_status(conn, role, a.name) for a in shown for role in a.roles()]
    if redis_memory and redis_memory["full"]:
        for device in device_list:
            if "blocked" in device:
                device["blocked"] = "Redis full"
                device["hint"] = f"{'session' if device['role'].endswith('session') else 'slot'} blocked: Redis full"
    return {
        "supervisor": (
            {k: supervisor.get(k) for k in ("pid", "host", "version", "started_at", "state")} if supervisor else None
        ),
        "supervisors": [
            {k: d.get(k) for k in ("pid", "host", "version", "started_at", "state", "accounts")} for d in daemons
        ],
        # No `wagw run` here: what runs on its own (supervisord's programs, or started by hand).
        "standalone": [] if daemons else serving.standalone(conn),
        "accounts": [a.name for a in shown],
        "processes": processes,
        "devices": device_list,
        "queues": {name: queue_counts(conn, name) for name in queue_names},
        "dead_letter": deadletter.read(conn, queue_names),
        "unserved_queues": serving.unserved_queues(conn),  # jobs there wait for no one
        "crashes": crashes[:SHOWN_CRASHES],
        "quarantines": quarantines,
        "poisoned_targets": poisons,
        # WhatsApp's reach-out limit: accounts whose first-contact sends wait (wagw.reachout)
        "reach_out_holds": [held.as_dict() for held in reachout.holds(conn, [a.name for a in shown]).values()],
        # Sends waiting off the queue, per account and reason, and when the first of each clears
        # (wagw.sendorder: their turn in their chat, the account's pace, a reach-out hold, typing)
        "sends_waiting": {a.name: sendorder.waiting(conn, a.name) for a in shown},
        "failed_deliveries": failed_deliveries(conn, settings, limit=5),
        "redis_memory": redis_memory,
        # the history writer: lag behind the event log, its store's last error, gaps (None: not running)
        "history": history_status(conn),
        "time": time.time(),
    }


def history_status(conn: Redis) -> dict | None:
    """The history writer's own snapshot (wagw.history.writer), None when no writer runs."""
    raw = conn.get(keys.HISTORY_STATUS)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def main(settings: Settings, args: argparse.Namespace) -> int:
    conn = connect(settings, socket_timeout=3)
    account = getattr(args, "account", None)
    if account is not None:
        try:
            account = accounts.find(settings, account).name
        except ValueError as error:
            print(f"wagw status: {error}")
            return ExitCode.USAGE
    try:
        report = collect(settings, conn, account)
    except RedisError as error:
        from wagw.config import redis_origin

        message = (
            f"wagw is not running: Redis at {settings.redis_url_shown} is unreachable ({error}); "
            f"that URL is {redis_origin(settings)}"
        )
        if args.json:
            print(json.dumps({"error": message, "processes": [], "devices": [], "queues": {}}))
        else:
            print(message)
        return ExitCode.NOT_RUNNING
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        from wagw.status.table import render

        render(report)
    return ExitCode.OK if report["supervisor"] or report["standalone"] else ExitCode.NOT_RUNNING
