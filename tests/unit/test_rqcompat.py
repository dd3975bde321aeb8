"""Contract tests for wagw.rqcompat, without a Redis server: the installed rq is the pinned
minor, every rq internal wagw relies on still exists with the shape wagw calls it with, and
the records rqcompat builds are the ones rq builds (compared on fakeredis: pure logic).

When one of these fails after an rq upgrade, its message names the rq internal that
changed and the wagw code that relies on it. tests/integration/test_rqcompat_contract.py
checks the rest against a real Redis (Lua scripts, streams, rq's own worker paths).
"""

from __future__ import annotations

import importlib
import inspect
import threading
import tomllib
import zlib
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path

import fakeredis
import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from redis.client import PubSubWorkerThread
from rq import Queue, Retry
from rq.exceptions import DeserializationError
from rq.executions import Execution
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.worker import BaseWorker, SimpleWorker

from wagw import rqcompat
from wagw.redisconn import SERIALIZER

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
RQ_VERSION = version("rq")

# Every rq function or method wagw relies on beyond rq's documented API, as wagw calls it:
# the parameters it passes by position, in order, then "*" and the ones it passes by name.
CALLS = [
    # wagw/rqcompat.py
    (
        "rq.job:Job._handle_failure",
        "exc_string, pipeline, * worker_name, execution_id, execution_started_at, execution_ended_at",
        "rqcompat.mark_failed, rqcompat.fail_abandoned, rqcompat.expire_now",
    ),
    ("rq.queue:Queue._enqueue_job", "job, * pipeline, at_front", "rqcompat.requeue_at_front"),
    ("rq.job:Job.prepare_for_execution", "worker_name, pipeline", "rqcompat.start_execution"),
    ("rq.job:Job.set_status", "status, * pipeline", "rqcompat.mark_failed, rqcompat.schedule, rqcompat.fail_abandoned"),
    ("rq.job:Job.save", "* pipeline", "rqcompat.mark_failed, rqcompat.schedule"),
    ("rq.executions:Execution.create", "job, ttl, * pipeline, worker_name", "rqcompat.start_execution"),
    ("rq.executions:Execution.delete", "job, pipeline", "rqcompat.end_execution"),
    ("rq.executions:Execution.heartbeat", "started_job_registry, ttl, * pipeline", "rqcompat.renew_leases"),
    (
        "rq.results:Result.create",
        "job, type, ttl, * return_value, worker_name, pipeline, execution_id, execution_started_at, execution_ended_at",
        "rqcompat.mark_finished",
    ),
    ("rq.results:Result.get_key", "job_id", "rqcompat.results_after"),
    ("rq.results:Result.restore", "job_id, result_id, payload, * connection, serializer", "rqcompat.results_after"),
    ("rq.registry:FinishedJobRegistry.add", "job, ttl, pipeline", "rqcompat.mark_finished"),
    ("rq.job:Job.retry", "queue, pipeline", "rqcompat.expire_now"),
    ("rq.queue:Queue.enqueue_dependents", "job, * refresh_job_status", "rqcompat.expire_now"),
    ("rq.worker_registration:register", "worker, pipeline", "rqcompat.register_again"),
    ("rq.worker:BaseWorker.heartbeat", "* pipeline", "rqcompat.heartbeat_recreated"),
    ("rq.worker:BaseWorker.serialize", "", "rqcompat.register_again"),
    ("rq.utils:now", "", "rqcompat.now"),
    ("rq.utils:utcformat", "dt", "rqcompat.enqueue_calls, rqcompat.mark_finished"),
    ("rq.utils:as_text", "v", "rqcompat"),
    ("rq.executions:Execution.__init__", "id, job_id, connection, worker_name", "rqcompat.start_many"),
    ("rq.utils:utcformat", "dt", "rqcompat.start_many, rqcompat.finish_many"),
    ("rq.results:Result.get_key", "job_id", "rqcompat.finish_many"),
    (
        "rq.results:Result.__init__",
        "job_id, type, * connection, return_value, worker_name, serializer, execution_id, execution_started_at,"
        " execution_ended_at",
        "rqcompat.succeed_alone",
    ),
    ("rq.results:Result.serialize", "", "rqcompat.succeed_alone"),
    ("rq.job:Job.get_result_ttl", "default_ttl", "WaWorker._succeed_in_one_step"),
    # workers/webhooks/worker.py: DeliveryWorker drives a BaseWorker with its own loop
    (
        "rq.worker:BaseWorker.__init__",
        "queues, * name, connection, serializer, job_class, default_result_ttl",
        "DeliveryWorker.__init__",
    ),
    ("rq.worker:BaseWorker.register_birth", "", "DeliveryWorker.work"),
    ("rq.worker:BaseWorker.subscribe", "", "DeliveryWorker.work"),
    ("rq.worker:BaseWorker.set_state", "state", "DeliveryWorker"),
    ("rq.worker:BaseWorker.get_state", "", "DeliveryWorker"),
    ("rq.worker:BaseWorker.clean_registries", "", "DeliveryWorker._maintain"),
    ("rq.worker:BaseWorker.teardown", "", "DeliveryWorker.work"),
    ("rq.utils:current_timestamp", "", "rqcompat.started_entries"),
    ("rq.worker:BaseWorker.clean_registries", "", "rqcompat.SetsAsideUnreadable"),
    # rqcompat.SetsAsideUnreadable.clean_registries: BaseWorker.clean_registries, step by step
    ("rq.registry:clean_registries", "queue, exception_handlers", "rqcompat._clean_queue"),
    ("rq.worker_registration:clean_worker_registry", "queue", "rqcompat._clean_queue"),
    ("rq.intermediate_queue:IntermediateQueue.cleanup", "worker, queue", "rqcompat._clean_queue"),
    ("rq.queue:Queue.acquire_maintenance_lock", "", "rqcompat.SetsAsideUnreadable"),
    ("rq.queue:Queue.release_maintenance_lock", "", "rqcompat.SetsAsideUnreadable"),
    # rqcompat.read_jobs: rq's fetch, with what it raises turned into dead-letter reasons
    ("rq.job:Job.__init__", "id, * connection, serializer", "rqcompat.read_jobs"),
    ("rq.job:Job.key_for", "job_id", "rqcompat.read_jobs"),
    ("rq.job:Job.restore", "raw_data", "rqcompat.read_jobs"),
    # workers/wa/worker.py: WaWorker overrides SimpleWorker's hooks
    ("rq.worker:SimpleWorker.execute_job", "job, queue", "WaWorker.execute_job"),
    ("rq.worker:BaseWorker.heartbeat", "timeout, pipeline", "WaWorker.heartbeat"),
    ("rq.worker:BaseWorker.request_stop", "signum, frame", "WaWorker.request_stop"),
    ("rq.worker:BaseWorker.push_exc_handler", "handler_func", "WaWorker.__init__"),
    ("rq.worker:BaseWorker.request_force_stop", "signum, frame", "WaWorker.request_force_stop"),
    (
        "rq.worker:BaseWorker.prepare_job_execution",
        "job, remove_from_intermediate_queue",
        "WaWorker.prepare_job_execution",
    ),
    (
        "rq.queue:Queue.dequeue_any",
        "queues, timeout, * connection, job_class, serializer, death_penalty_class",
        "rqcompat.TakerQueue.dequeue_any",
    ),
    (
        "rq.queue:Queue.from_queue_key",
        "queue_key, * connection, job_class, serializer, death_penalty_class",
        "rqcompat.TakerQueue.dequeue_any",
    ),
    # rqcompat.PromptCommandListener: rq's command listener, with a bounded stop
    ("rq.worker:BaseWorker.subscribe", "", "rqcompat.PromptCommandListener"),
    ("rq.worker:BaseWorker.unsubscribe", "", "rqcompat.PromptCommandListener"),
    ("rq.worker:BaseWorker.handle_payload", "message", "rqcompat.PromptCommandListener"),
    ("rq.worker:BaseWorker._pubsub_exception_handler", "exc, pubsub, pubsub_thread", "rqcompat.PromptCommandListener"),
    ("redis.client:PubSub.run_in_thread", "sleep_time, daemon, exception_handler", "rqcompat.PromptCommandListener"),
    ("rq.timeouts:UnixSignalDeathPenalty.__init__", "timeout, exception", "BackstopDeathPenalty"),
    # wagw/scheduler/process.py: RQScheduler.work's loop, polled faster
    ("rq.scheduler:RQScheduler.__init__", "queues, * connection, serializer, interval, name", "wagw.scheduler.process"),
    ("rq.scheduler:RQScheduler.register_birth", "", "wagw.scheduler.process"),
    ("rq.scheduler:RQScheduler.acquire_locks", "", "wagw.scheduler.process"),
    ("rq.scheduler:RQScheduler.heartbeat", "", "wagw.scheduler.process"),
    ("rq.scheduler:RQScheduler.enqueue_scheduled_jobs", "", "wagw.scheduler.process"),
    ("rq.scheduler:RQScheduler.stop", "", "wagw.scheduler.process"),
]

# Attributes and properties wagw relies on beyond rq's documented API.
ATTRIBUTES = [
    ("rq.job:Job.redis_job_namespace_prefix", "rqcompat.enqueue_calls"),
    ("rq.queue:Queue.redis_queue_namespace_prefix", "rqcompat.enqueue_calls"),
    ("rq.queue:Queue.redis_queues_keys", "rqcompat.enqueue_calls, rqcompat.schedule"),
    ("rq.queue:Queue.intermediate_queue_key", "rqcompat.IntermediateList"),
    ("rq.job:JOB_ID_PATTERN", "rqcompat.id_problem"),
    ("rq.worker:BaseWorker.redis_worker_namespace_prefix", "rqcompat.worker_pid_and_host"),
    ("rq.worker:BaseWorker.should_run_maintenance_tasks", "DeliveryWorker._maintain"),
    ("rq.worker:BaseWorker.pubsub_channel_name", "rqcompat.PromptCommandListener"),
    ("rq.worker:BaseWorker.log_result_lifespan", "WaWorker"),
    ("rq.worker:BaseWorker.death_penalty_class", "WaWorker"),
    ("rq.scheduler:RQScheduler.should_reacquire_locks", "wagw.scheduler.process"),
    ("rq.job:Job.started_job_registry", "rqcompat.SharedRegistriesJob"),
    ("rq.job:Job.finished_job_registry", "rqcompat.SharedRegistriesJob"),
    ("rq.job:Job.failed_job_registry", "rqcompat.SharedRegistriesJob"),
    ("rq.executions:ExecutionRegistry.key_template", "rqcompat.start_many, rqcompat.finish_many"),
    ("rq.job:str_to_date", "rqcompat.quicken_rq"),
    ("rq.job:resolve_serializer", "rqcompat.quicken_rq"),
    ("rq.queue:resolve_serializer", "rqcompat.quicken_rq"),
    ("rq.registry:resolve_serializer", "rqcompat.quicken_rq"),
    ("rq.results:resolve_serializer", "rqcompat.quicken_rq"),
    ("rq.results:Result.Type.SUCCESSFUL", "rqcompat.finish_many, rqcompat.succeed_alone"),
    ("rq.job:Job.dependents_key", "rqcompat.succeed_alone"),
    ("rq.job:Job.dependencies_key", "rqcompat.succeed_alone"),
    ("rq.suspension:WORKERS_SUSPENDED", "rqcompat.queue_suspension_check"),
]


def resolve(path: str):
    module, _, attributes = path.partition(":")
    target = importlib.import_module(module)
    for name in attributes.split("."):
        target = inspect.getattr_static(target, name)
    return target.__func__ if isinstance(target, (classmethod, staticmethod)) else target


def names(part: str) -> list[str]:
    return [name.strip() for name in part.split(",") if name.strip()]


def test_installed_rq_is_the_pinned_minor():
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    [pin] = [r for r in map(Requirement, dependencies) if r.name == "rq"]
    bounds = {spec.operator: Version(spec.version) for spec in pin.specifier}
    lower = bounds.get(">=")
    assert lower is not None and bounds == {">=": lower, "<": Version(f"{lower.major}.{lower.minor + 1}")}, (
        f"pyproject.toml pins rq{pin.specifier}: pin exactly one minor (>=X.Y,<X.Y+1), the one "
        "wagw/rqcompat.py was measured against"
    )
    assert Version(RQ_VERSION) in pin.specifier, (
        f"rq {RQ_VERSION} is installed but pyproject.toml pins rq{pin.specifier}: wagw/rqcompat.py relies on "
        "rq internals of the pinned minor. To upgrade, move the pin and make these contract tests pass."
    )


@pytest.mark.parametrize("path, shape, user", CALLS, ids=[f"{path}<-{user}" for path, _, user in CALLS])
def test_rq_internals_keep_the_signature_wagw_calls(path, shape, user):
    try:
        target = resolve(path)
    except AttributeError:
        pytest.fail(f"rq {RQ_VERSION} has no {path} any more: {user} relies on it")
    signature = inspect.signature(target)
    parameters = [p for p in signature.parameters.values() if p.name not in ("self", "cls")]
    positional, _, keywords = shape.partition("*")
    takes_any_keyword = any(p.kind is p.VAR_KEYWORD for p in parameters)
    actual = [p.name for p in parameters]
    fits = actual[: len(names(positional))] == names(positional) and all(
        name in actual or takes_any_keyword for name in names(keywords)
    )
    assert fits, f"rq {RQ_VERSION} changed {path}{signature}: {user} calls it as ({shape})"


@pytest.mark.parametrize("path, user", ATTRIBUTES, ids=[path for path, _ in ATTRIBUTES])
def test_rq_attributes_wagw_relies_on_still_exist(path, user):
    try:
        resolve(path)
    except AttributeError:
        pytest.fail(f"rq {RQ_VERSION} has no {path} any more: {user} relies on it")


def test_redis_pubsub_thread_still_stops_on_its_running_flag():
    # rqcompat.PromptCommandListener clears it rather than call stop(), which joins unbounded.
    thread = PubSubWorkerThread(pubsub=None, sleep_time=1)
    assert isinstance(thread._running, threading.Event) and thread._running.is_set()


def test_jobs_still_keep_result_and_status_in_private_attributes():
    job = Job(connection=fakeredis.FakeRedis())
    for name in ("_result", "_status"):
        assert hasattr(job, name), f"rq {RQ_VERSION}: Job has no {name} any more: rqcompat.mark_finished sets it"


def test_keep_state_changes_the_state_rq_reports_and_writes_nothing():
    conn = fakeredis.FakeRedis()
    worker = SimpleWorker(["q"], connection=conn)
    worker.set_state("idle")
    rqcompat.keep_state(worker, "busy")
    assert worker.get_state() == "busy" and conn.hget(worker.key, "state") == b"idle"


def test_a_worker_still_keeps_its_exception_handlers_and_last_cleaning_where_rqcompat_reads_them():
    worker = SimpleWorker([Queue("q", connection=fakeredis.FakeRedis())], connection=fakeredis.FakeRedis())
    assert isinstance(worker._exc_handlers, list) and worker.last_cleaned_at is None  # rqcompat._clean_queue


def test_has_callbacks_sees_an_on_success_or_on_failure_callback():
    queue = Queue("q", connection=fakeredis.FakeRedis())
    assert not rqcompat.has_callbacks(queue.enqueue("os.getpid"))
    assert rqcompat.has_callbacks(queue.enqueue("os.getpid", on_success="os.getcwd"))
    assert rqcompat.has_callbacks(queue.enqueue("os.getpid", on_failure="os.getcwd"))


def test_registries_are_still_properties_that_shared_registries_job_can_override():
    for kind in ("started_job_registry", "finished_job_registry", "failed_job_registry"):
        assert isinstance(inspect.getattr_static(Job, kind), property), (
            f"rq {RQ_VERSION}: Job.{kind} is no longer a property: rqcompat.SharedRegistriesJob overrides it"
        )


def test_shared_registries_are_the_jobs_own_registries_built_once():
    conn = fakeredis.FakeRedis()
    shared = rqcompat.SharedRegistriesJob.create(
        "some.module.work", connection=conn, serializer=SERIALIZER, origin="contract"
    )
    plain = Job.create("some.module.work", connection=conn, serializer=SERIALIZER, origin="contract")
    for kind in ("started_job_registry", "finished_job_registry", "failed_job_registry"):
        ours, rqs = getattr(shared, kind), getattr(plain, kind)
        assert ours is getattr(shared, kind)
        assert (type(ours), ours.key, ours.serializer) == (type(rqs), rqs.key, rqs.serializer), kind


def test_execution_hash_key_is_the_one_rqcompat_reads():
    execution = Execution(id="e1", job_id="j1", connection=fakeredis.FakeRedis())
    assert execution.key == rqcompat._EXECUTION_KEY.format(execution.composite_key) == "rq:execution:j1:e1", (
        f"rq {RQ_VERSION} names execution hashes {execution.key!r} (composite key {execution.composite_key!r}): "
        "rqcompat.started_entries reads them as rq:execution:<job id>:<execution id>"
    )


def test_now_is_rqs_clock():
    assert rqcompat.now().utcoffset() == timedelta(0), "rq.utils.now is no longer timezone-aware UTC"


def test_the_per_job_log_line_is_still_the_one_the_wa_worker_demotes():
    for step, message in (
        (BaseWorker.dequeue_job_and_maintain_ttl, rqcompat.PER_JOB_LOG_MESSAGE),
        (BaseWorker.dequeue_job_and_maintain_ttl, rqcompat.PER_JOB_LOG_MESSAGE_SHORT),
        (BaseWorker.perform_job, rqcompat.PER_JOB_LOG_MESSAGE),
    ):
        assert repr(message) in inspect.getsource(step), (
            f"rq {RQ_VERSION}: {step.__qualname__} no longer logs {message!r}: "
            "update rqcompat.PER_JOB_LOG_MESSAGE(_SHORT) (workers.wa.worker.OneLinePerJob demotes that line)"
        )


def test_wagw_schedulers_loop_still_takes_rqschedulers_steps():
    source = inspect.getsource(RQScheduler.work)
    steps = ["should_reacquire_locks", "acquire_locks", "heartbeat", "enqueue_scheduled_jobs"]
    positions = [source.find(f"self.{step}") for step in steps]
    assert -1 not in positions and positions == sorted(positions), (
        f"rq {RQ_VERSION}: RQScheduler.work no longer runs {' -> '.join(steps)}: wagw/scheduler/process.py "
        "repeats that loop (polled faster) and must follow it"
    )


def test_enqueue_calls_writes_what_enqueue_many_writes():
    ours, theirs = fakeredis.FakeRedis(), fakeredis.FakeRedis()
    retry = Retry(max=2, interval=[1, 30])
    options = {"timeout": 45, "result_ttl": 120, "failure_ttl": 3600}
    calls = [("some.module.work", ("a", 1, {"k": [1, 2]}), "first"), ("some.module.other", (), "second")]
    with ours.pipeline() as pipe:
        fields = rqcompat.queued_job_fields("contract", retry=retry, **options)
        job_ids = rqcompat.enqueue_calls(pipe, "contract", fields, calls)
        pipe.execute()
    Queue("contract", connection=theirs, serializer=SERIALIZER).enqueue_many(
        [
            Queue.prepare_data(func, args=args, description=description, retry=retry, **options)
            for func, args, description in calls
        ]
    )

    assert Queue.all(connection=ours) == [Queue("contract", connection=ours)]
    assert Queue("contract", connection=ours).get_job_ids() == job_ids
    reference_ids = Queue("contract", connection=theirs).get_job_ids()
    for our_id, their_id in zip(job_ids, reference_ids, strict=True):
        our_hash, their_hash = ours.hgetall(Job.key_for(our_id)), theirs.hgetall(Job.key_for(their_id))
        assert set(our_hash) == set(their_hash), (
            f"rq {RQ_VERSION}: enqueue_many writes job fields {sorted(set(their_hash) - set(our_hash))} that "
            f"rqcompat.enqueue_calls does not, and not {sorted(set(our_hash) - set(their_hash))} that it does"
        )
        for field, value in their_hash.items():
            mine = our_hash[field]
            if field == b"data":
                mine, value = zlib.decompress(mine), zlib.decompress(value)
            if field not in (b"created_at", b"enqueued_at"):  # times
                assert mine == value, f"rq {RQ_VERSION}: enqueue_many writes {field} = {value!r}, rqcompat {mine!r}"
        job = Job.fetch(our_id, connection=ours, serializer=SERIALIZER)
        reference = Job.fetch(their_id, connection=theirs, serializer=SERIALIZER)
        for attribute in (
            "func_name",
            "args",
            "kwargs",
            "description",
            "origin",
            "timeout",
            "retries_left",
            "retry_intervals",
            "result_ttl",
            "failure_ttl",
        ):
            assert getattr(job, attribute) == getattr(reference, attribute), attribute
        assert job.get_status() == reference.get_status() == "queued"
        assert abs(job.enqueued_at - reference.enqueued_at) < timedelta(seconds=5)
        assert abs(job.created_at - reference.created_at) < timedelta(seconds=5)


def test_save_fields_encodes_as_job_to_dict():
    conn = fakeredis.FakeRedis()
    job = Job.create("some.module.work", connection=conn, serializer=SERIALIZER, timeout=180)
    job.save()
    job.timeout, job.retries_left, job.retry_intervals, job.failure_ttl = 45, 2, [1, 30], 3600
    rqcompat.save_fields(job, rqcompat._FIELD_ENCODINGS)
    stored, expected = conn.hgetall(job.key), job.to_dict()
    for name in rqcompat._FIELD_ENCODINGS:
        assert stored[name.encode()] == str(expected[name]).encode(), (
            f"rq {RQ_VERSION}: Job.to_dict writes {name} as {expected[name]!r}, rqcompat.save_fields as "
            f"{stored[name.encode()]!r}"
        )
    fetched = Job.fetch(job.id, connection=conn, serializer=SERIALIZER)
    assert (fetched.timeout, fetched.retries_left, fetched.retry_intervals, fetched.failure_ttl) == (
        45,
        2,
        [1, 30],
        3600,
    )


def test_the_worker_loop_still_reads_the_flags_a_warm_stop_sets_and_dequeues_through_queue_class():
    loop = inspect.getsource(BaseWorker.work)
    assert "self._stop_requested" in loop, f"rq {RQ_VERSION}: the work loop no longer reads _stop_requested"
    dequeue = inspect.getsource(BaseWorker.dequeue_job_and_maintain_ttl)
    assert "self.queue_class.dequeue_any" in dequeue, (
        f"rq {RQ_VERSION}: workers no longer dequeue through queue_class.dequeue_any (rqcompat.TakerQueue)"
    )
    worker = BaseWorker(["wa"], connection=fakeredis.FakeRedis())
    rqcompat.request_warm_stop(worker)
    assert worker._stop_requested and worker._shutdown_requested_date is not None


# ---- how far a job's data may inflate ------------------------------------------------------------


def zlib_bomb(inflated: int) -> bytes:
    """A zlib stream of `inflated` zero bytes, built a MiB at a time (about 1 KB per MiB)."""
    squeeze, block = zlib.compressobj(9), bytes(1 << 20)
    parts = [squeeze.compress(block) for _ in range(inflated >> 20)]
    parts.append(squeeze.compress(bytes(inflated & ((1 << 20) - 1))))
    return b"".join(parts) + squeeze.flush()


CAP = 1 << 20


@pytest.mark.parametrize(
    ("data", "past"),
    [
        (zlib.compress(b"x" * CAP), False),  # exactly the cap
        (zlib_bomb(CAP + 1), True),  # one byte past it
        (zlib_bomb(64 * CAP), True),
        (zlib_bomb(64 * CAP)[:-10], True),  # cut short: rq inflates it all, then finds the end gone
        (zlib_bomb(CAP)[:-10], False),
        (b"\x80 no zlib " * (CAP // 10), False),  # rq keeps it as it is: 1,048,570 bytes
        (b"\x80 no zlib " * (CAP // 10 + 1), True),
        (zlib.compress(b'["workers.wa.joined_groups", null, [], {}]'), False),
    ],
)
def test_inflates_past_counts_what_rq_would_inflate(data, past):
    assert rqcompat.inflates_past(data, CAP) is past


def test_inflates_past_holds_one_chunk_at_a_time():
    """The check's own memory: what it allocates while reading a 1 GiB bomb, not the bomb."""
    import tracemalloc

    bomb = zlib_bomb(1 << 30)
    tracemalloc.start()
    try:
        assert rqcompat.inflates_past(bomb, rqcompat.MIN_JOB_DATA_CAP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(bomb) < 1_100_000 and peak < 4 * (1 << 16) + 64 * 1024


def test_rq_inflates_a_jobs_data_and_error_and_a_results_error_through_its_modules_zlib():
    """cap_job_data hands rq.job and rq.results a bounded zlib: it works only while rq inflates
    through their module-level `zlib`, and falls back to the bytes as they are on zlib.error."""
    import rq.results

    restore = inspect.getsource(Job.restore)
    assert "zlib.decompress(raw_data)" in restore and "zlib.decompress(raw_exc_info)" in restore, (
        f"rq {RQ_VERSION}'s Job.restore no longer inflates through rq.job.zlib: rqcompat.cap_job_data bounds nothing"
    )
    assert restore.count("except zlib.error") == 2
    assert "zlib.decompress(b64decode(exc_string))" in inspect.getsource(rq.results.Result.restore)


def test_once_capped_rq_keeps_a_bomb_as_it_is_and_the_job_fails_to_decode(monkeypatch):
    import rq.job
    import rq.results

    monkeypatch.setattr(rq.job, "zlib", zlib)  # put back after the test
    monkeypatch.setattr(rq.results, "zlib", zlib)
    monkeypatch.setattr(rqcompat, "_data_cap", rqcompat._data_cap)
    rqcompat.cap_job_data(CAP)
    bomb = zlib_bomb(64 * CAP)
    fields = {b"data": bomb, b"origin": b"wa", b"status": b"queued", b"created_at": b"2026-01-01T00:00:00.000000Z"}
    job = Job("bomb", connection=fakeredis.FakeRedis(), serializer=SERIALIZER)
    job.restore(fields)
    assert job.data == bomb  # not inflated
    with pytest.raises(DeserializationError):
        _ = job.func_name
    small = Job.create("workers.wa.joined_groups", connection=fakeredis.FakeRedis(), serializer=SERIALIZER)
    again = Job("small", connection=fakeredis.FakeRedis(), serializer=SERIALIZER)
    again.restore(small.to_dict())
    assert again.func_name == "workers.wa.joined_groups"


def test_quickened_rq_gives_what_rqs_own_gives(monkeypatch):
    import rq.job
    import rq.queue
    import rq.registry
    import rq.results

    from wagw.redisconn import SERIALIZER

    stamp = "2026-12-06T05:06:49.123193Z"
    theirs = rq.job.str_to_date(stamp), rq.job.str_to_date(b"2026-12-06T05:06:49Z")
    monkeypatch.setattr(rq.job, "str_to_date", rq.job.str_to_date)
    for module in (rq.job, rq.queue, rq.registry, rq.results):
        monkeypatch.setattr(module, "resolve_serializer", module.resolve_serializer)
    rqcompat.quicken_rq()
    ours = rq.job.str_to_date(stamp), rq.job.str_to_date(b"2026-12-06T05:06:49Z")
    assert ours == theirs and [d.tzinfo for d in ours] == [d.tzinfo for d in theirs]
    with pytest.raises(ValueError):
        rq.job.str_to_date("2026-12-06")  # not rq's format: rq's own parser, and its error
    assert Job("x", connection=fakeredis.FakeRedis(), serializer=SERIALIZER).serializer is SERIALIZER
    assert rq.job.resolve_serializer(SERIALIZER) is SERIALIZER
    queue = Queue("q", connection=fakeredis.FakeRedis(), serializer=SERIALIZER)
    assert queue.serializer is queue.finished_job_registry.serializer is SERIALIZER
    assert Queue("p", connection=fakeredis.FakeRedis()).serializer is rq.job.resolve_serializer(None)  # pickle


def test_simple_workers_execute_job_still_drops_what_prepare_execution_returns():
    # WaWorker.prepare_execution returns nothing: its execution is written in the MULTI that starts the job.
    source = inspect.getsource(SimpleWorker.execute_job)
    assert "self.prepare_execution(job)\n" in source and "= self.prepare_execution" not in source, (
        f"rq {RQ_VERSION}: SimpleWorker.execute_job uses what prepare_execution returns (workers/wa/worker.py)"
    )
