"""Only wagw/rqcompat.py touches rq's private API and the layout of rq's Redis records.

Every other module in wagw/ and workers/ is checked (by its syntax tree) for:

- imports of rq modules python-rq.org does not document (rq.utils, rq.executions,
  rq.worker_registration, ...) or of underscore names from rq;
- rq's private names (the underscore attributes and methods rq's own source defines) read
  off anything but `self`/`cls`, and used or overridden through `self` in a subclass of an
  rq class;
- the names of rq's key layout (namespace prefixes, intermediate_queue_key, key templates,
  Result.get_key / Result.restore);
- raw Redis access to rq's records: an object's `.key` passed to a call (rq's jobs, queues,
  registries and workers are the only objects with one here), or a string starting "rq:".

What it flags belongs in wagw/rqcompat.py, under a function that names the rq internal.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import rq

ROOT = Path(__file__).resolve().parents[2]
RQCOMPAT = ROOT / "wagw" / "rqcompat.py"
# rq's modules documented on python-rq.org; the others are rq's internals.
DOCUMENTED_MODULES = {
    "rq",
    "rq.job",
    "rq.queue",
    "rq.worker",
    "rq.registry",
    "rq.results",
    "rq.serializers",
    "rq.timeouts",
    "rq.exceptions",
    "rq.scheduler",
    "rq.command",
    "rq.decorators",
    "rq.group",
    "rq.cron",
    "rq.worker_pool",
    "rq.suspension",
}
LAYOUT_NAMES = {
    "redis_job_namespace_prefix",
    "redis_queue_namespace_prefix",
    "redis_queues_keys",
    "redis_worker_namespace_prefix",
    "redis_workers_keys",
    "intermediate_queue_key",
    "key_template",
    "composite_key",
}
RESULT_LAYOUT = {"get_key", "restore"}  # on rq.results.Result


@functools.cache
def rq_private_names() -> frozenset[str]:
    """The underscore names rq's own source defines: attributes it sets, methods it declares."""
    found: set[str] = set()
    for source in Path(rq.__file__).parent.rglob("*.py"):
        text = source.read_text()
        found.update(re.findall(r"\b(?:self|cls)\.(_[a-z][a-z0-9_]*)", text))
        found.update(re.findall(r"^\s*def (_[a-z][a-z0-9_]*)", text, re.MULTILINE))
        found.update(re.findall(r"^\s+(_[a-z][a-z0-9_]*)\s*[:=]", text, re.MULTILINE))
    return frozenset(found)


@functools.cache
def rq_modules() -> frozenset[str]:
    package = Path(rq.__file__).parent
    return frozenset(
        ".".join(("rq", *source.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
        for source in package.rglob("*.py")
    )


def is_rq_module(name: str | None) -> bool:
    return name == "rq" or bool(name and name.startswith("rq."))


class Checker(ast.NodeVisitor):
    def __init__(self) -> None:
        self.problems: list[tuple[int, str]] = []
        self.rq_names: set[str] = set()  # names this module imported from rq
        self.rq_subclass: list[bool] = []  # per enclosing class: does it derive from an rq class?

    def flag(self, node: ast.AST, what: str) -> None:
        self.problems.append((node.lineno, what))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if is_rq_module(alias.name) and alias.name not in DOCUMENTED_MODULES:
                self.flag(node, f"imports rq's internal module {alias.name}")
            if alias.name == "rq":
                self.rq_names.add(alias.asname or "rq")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not is_rq_module(node.module):
            return
        if node.module not in DOCUMENTED_MODULES:
            self.flag(node, f"imports from rq's internal module {node.module}")
        for alias in node.names:
            if alias.name.startswith("_"):
                self.flag(node, f"imports rq's private {alias.name}")
            submodule = f"{node.module}.{alias.name}"
            if submodule in rq_modules() and submodule not in DOCUMENTED_MODULES:
                self.flag(node, f"imports rq's internal module {submodule}")
            self.rq_names.add(alias.asname or alias.name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        derives = any(self._is_rq_name(base) for base in node.bases)
        self.rq_subclass.append(derives)
        if derives:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in rq_private_names():
                    self.flag(item, f"overrides rq's private {item.name} in {node.name}")
        self.generic_visit(node)
        self.rq_subclass.pop()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        if node.attr in rq_private_names() and (not on_self or (self.rq_subclass and self.rq_subclass[-1])):
            self.flag(node, f"uses rq's private {ast.unparse(node)}")
        if node.attr in LAYOUT_NAMES:
            self.flag(node, f"uses rq's key layout: {ast.unparse(node)}")
        if node.attr in RESULT_LAYOUT and isinstance(node.value, ast.Name) and node.value.id == "Result":
            self.flag(node, f"uses rq's result stream layout: {ast.unparse(node)}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
        for argument in arguments:
            items = argument.elts if isinstance(argument, (ast.List, ast.Tuple)) else [argument]
            for item in items:
                if isinstance(item, ast.Attribute) and item.attr == "key":
                    key, call = ast.unparse(item), ast.unparse(node.func)
                    self.flag(item, f"passes the Redis key {key} of an rq object to {call}")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value.startswith("rq:"):
            self.flag(node, f"writes an rq key by hand: {node.value!r}")

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        first = node.values[0] if node.values else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("rq:"):
            self.flag(node, f"writes an rq key by hand: {ast.unparse(node)}")
        else:
            self.generic_visit(node)

    def _is_rq_name(self, base: ast.expr) -> bool:
        while isinstance(base, ast.Attribute):
            base = base.value
        return isinstance(base, ast.Name) and base.id in self.rq_names


def problems_in(source: str) -> list[tuple[int, str]]:
    checker = Checker()
    checker.visit(ast.parse(source))
    return checker.problems


def test_only_rqcompat_touches_rqs_private_api_and_record_layouts():
    modules = sorted(p for folder in ("wagw", "workers") for p in (ROOT / folder).rglob("*.py") if p != RQCOMPAT)
    found = [
        f"{module.relative_to(ROOT)}:{line}: {what}"
        for module in modules
        for line, what in problems_in(module.read_text())
    ]
    assert not found, (
        "rq's private API or record layout used outside wagw/rqcompat.py; move it there, under a function "
        "that names the rq internal (and a contract test in tests/unit/test_rqcompat.py):\n  " + "\n  ".join(found)
    )


def test_the_check_flags_each_kind_of_use():
    source = """
from rq.utils import now
from rq.executions import Execution
from rq.job import Job
from rq.worker import BaseWorker
from rq import Queue, worker_registration
import rq.intermediate_queue

class Worker(BaseWorker):
    def _install_signal_handlers(self):
        self._state = "busy"

def finish(job, queue, pipe):
    job._result = 1
    queue._enqueue_job(job, pipeline=pipe)
    pipe.sadd(queue.redis_queues_keys, queue.key)
    pipe.hset(f"rq:job:{job.id}", "status", "finished")
    pipe.hget("rq:worker:w1", "pid")
    script(keys=[queue.key, queue.intermediate_queue_key])
    return Result.get_key(job.id)
"""
    flagged = [what for _, what in problems_in(source)]
    expected = [
        "internal module rq.utils",
        "internal module rq.executions",
        "internal module rq.worker_registration",
        "internal module rq.intermediate_queue",
        "overrides rq's private _install_signal_handlers",
        "private self._state",
        "private job._result",
        "private queue._enqueue_job",
        "queue.redis_queues_keys",
        "key queue.key of an rq object to pipe.sadd",
        "f'rq:job:{job.id}'",
        "'rq:worker:w1'",
        "queue.intermediate_queue_key",
        "key queue.key of an rq object to script",
        "Result.get_key",
    ]
    for use in expected:
        assert any(use in what for what in flagged), f"not flagged: {use}; flagged: {flagged}"


def test_the_check_leaves_other_code_alone():
    source = """
import os
from rq import Queue
from rq.job import Job

class Host:
    def stop(self):
        self._status = "stopped"
        self._result(1)
        os._exit(0)

def describe(event, job: Job):
    return event.key.ID, job.id, Queue("wa").count, keys.DEVICE_STATUS.format(role="rq")
"""
    assert problems_in(source) == []
