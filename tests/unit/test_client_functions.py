"""wagw/client.py's typed functions (enqueue_<name> and <name>, one pair per operation) are
real functions that mypy and editors see, written from the operation table: this test fails
when they no longer match it. To rewrite them after a change to the table:

    .venv/bin/python -m tests.unit.test_client_functions
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from wagw.operations import OPERATIONS, Operation

CLIENT = Path(__file__).resolve().parents[2] / "wagw" / "client.py"
START = "# --- generated from the operation table: start ---\n"
END = "# --- generated from the operation table: end ---\n"
COMMAND = ".venv/bin/python -m tests.unit.test_client_functions"
LINE_LENGTH = 120
IDEMPOTENCY_KEY = "idempotency_key: str | None = None"  # every function takes it (docs/jobs.md "Idempotency")


def annotation(kind: typing.Any) -> str:
    """How a caller writes an argument's type: the JSON it sends, not the model's checks."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Annotated:
        return annotation(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(annotation(arg) for arg in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(json.dumps(arg) for arg in args)}]"
    if origin is list:
        return f"list[{annotation(args[0])}]"
    if kind is type(None):
        return "None"
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return "dict[str, Any]"  # a nested object (download_media's media), as JSON
    assert isinstance(kind, type) and kind in (str, bool, int, float), f"no client annotation for {kind!r}"
    return kind.__name__


def default(value: typing.Any) -> str:
    assert value is None or isinstance(value, bool | int | float | str), f"no client default for {value!r}"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def parameters(op: Operation) -> list[str]:
    lines = []
    for name, field in op.args.model_fields.items():
        written = f"{name}: {annotation(field.annotation)}"
        lines.append(written if field.is_required() else f"{written} = {default(field.default)}")
    return lines


def docstring(first: str, op: Operation) -> list[str]:
    lines = [f'    """{first}', "", f"    {op.summary}", '    """']
    if any(len(line) > LINE_LENGTH for line in lines):
        lines[-1] += "  # noqa: E501"  # the summary stays one line: the table's own words
    return lines


def function(name: str, params: list[str], returns: str, doc: list[str], body: str) -> list[str]:
    # One parameter a line, with a trailing comma: ruff format leaves it so.
    return [f"def {name}(", *(f"    {param}," for param in params), f") -> {returns}:", *doc, f"    {body}"]


def render() -> str:
    lines: list[str] = []
    for op in OPERATIONS.values():
        params = parameters(op)
        lines += ["", ""]
        lines += function(
            f"enqueue_{op.name}",
            [*params, "*", IDEMPOTENCY_KEY, "**rq_options: Any"],
            "Job",
            docstring(f"Queue {op.path} and return the rq Job.", op),
            f"return _enqueue({op.name!r}, locals())".replace("'", '"'),
        )
        lines += ["", ""]
        lines += function(
            op.name,
            [*params, "*", "wait: float | None = None", IDEMPOTENCY_KEY, "**rq_options: Any"],
            "Any",
            docstring(f"Run {op.path} and wait for its result.", op),
            f"return _call({op.name!r}, locals())".replace("'", '"'),
        )
    return "\n".join(lines).lstrip("\n") + "\n\n\n"  # two blank lines before the end marker


def written() -> str:
    text = CLIENT.read_text()
    assert START in text and END in text, f"wagw/client.py has no generated block: run {COMMAND}"
    return text.split(START, 1)[1].split(END, 1)[0]


def test_the_client_functions_are_the_operation_tables():
    assert written() == render(), (
        f"wagw/client.py's typed functions are out of date with wagw.operations: run {COMMAND}"
    )


def test_mypy_checks_a_call_to_a_typed_function(tmp_path):
    """What the functions are for: an app's type checker (and editor) sees each one's arguments."""
    app = tmp_path / "app.py"
    app.write_text(
        "from wagw import client\n\n"
        'client.send_text("+15551234567", 1)\n'
        'client.enqueue_fetch_avatar(jid="+15551234567", preview=True, job_timeout=30)\n'
    )
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", str(app)],
        cwd=CLIENT.parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Each line without its path: mypy's cache may name where an identical file was last checked.
    errors = [line.rpartition("app.py:")[2] for line in checked.stdout.splitlines()]
    assert errors == ['3: error: Argument 2 to "send_text" has incompatible type "int"; expected "str"  [arg-type]'], (
        checked.stdout + checked.stderr
    )


def main() -> None:
    text = CLIENT.read_text()
    head, rest = text.split(START, 1)
    _old, tail = rest.split(END, 1)
    CLIENT.write_text(head + START + render() + END + tail)
    print(f"wrote {len(OPERATIONS)} pairs of functions into {CLIENT}")


if __name__ == "__main__":
    main()
