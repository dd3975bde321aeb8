"""MCP (streamable HTTP) at `/mcp`, with the official Python SDK: tools generated from the
operation table, in go-whatsapp-web-multidevice's MCP shape: one consolidated tool per group,
`whatsapp_<group>`, whose `action` names the operation (`whatsapp_send` with action
`send_text`), plus `whatsapp_job` for a job's outcome.

Every call goes through wagw.api.calls, like an HTTP call: the same login (the guard checks
/mcp like every route), the same account selection (the `device_id` argument, else the
X-Device-Id header, else the token's or the only account), the same outcomes: a finished job's
result as it gave it, a failure with its error name and crash outcome (`isError`), a job still
running after WAGW_API_WAIT as its id and status.

The SDK costs about 23 MB, so it is loaded with the first request to /mcp, not at start.
Stateless: each POST is a whole exchange, nothing is kept between requests.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio

from wagw import operations
from wagw.api.calls import Failed, Finished, Pending, Rejected
from wagw.api.envelope import ApiError
from wagw.api.groups import GROUPS, TITLES
from wagw.api.native import account_of_queue, failed_results, pending_results
from wagw.api.selection import DEVICE_HEADER, select_account

if TYPE_CHECKING:
    from anyio.abc import TaskGroup, TaskStatus

    from wagw.api.calls import CallOutcome
    from wagw.api.context import ApiContext

PREFIX = "whatsapp_"
JOB_TOOL = "whatsapp_job"


def _signature(name: str) -> str:
    op = operations.get(name)
    parts = []
    for field, info in op.args.model_fields.items():
        parts.append(field if info.is_required() else f"{field}={info.default!r}")
    return f"{name}({', '.join(parts)})"


def tool_definitions() -> list[dict[str, Any]]:
    """name, description and input schema of every tool, from the operation table."""
    tools = []
    for group, names in GROUPS.items():
        actions = "\n".join(f"- {_signature(name)}: {operations.get(name).summary}" for name in names)
        tools.append(
            {
                "name": PREFIX + group,
                "description": f"WhatsApp, {TITLES[group]}: run one of these actions with its arguments.\n{actions}\n"
                "A media argument is an http(s) URL, base64, or file://<name> in wagw's media folder.",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "action": {"type": "string", "enum": list(names), "description": "the operation"},
                        "arguments": {
                            "type": "object",
                            "description": "the action's arguments by name, as listed above",
                            "additionalProperties": True,
                        },
                        "device_id": {
                            "type": "string",
                            "description": "the account (its name or a linked device's JID); "
                            "needed only with several accounts",
                        },
                        "respond_async": {
                            "type": "boolean",
                            "description": "answer at once with the job id instead of waiting for the result",
                        },
                    },
                    "required": ["action"],
                },
            }
        )
    tools.append(
        {
            "name": JOB_TOOL,
            "description": "Where a WhatsApp job stands: its result, its error, or still running.",
            "input_schema": {
                "type": "object",
                "properties": {"job_id": {"type": "string", "description": "the id a call answered with"}},
                "required": ["job_id"],
            },
        }
    )
    return tools


def tool_answer(outcome: CallOutcome) -> tuple[dict[str, Any], bool]:
    """(structured content, is_error) of an outcome."""
    if isinstance(outcome, Finished):
        return {"job_id": outcome.job_id, "status": "finished", "result": outcome.result}, False
    if isinstance(outcome, Pending):
        return pending_results(outcome), False
    if isinstance(outcome, Rejected):
        return {"status": "rejected", "error": outcome.code, "message": outcome.message}, True
    assert isinstance(outcome, Failed)
    return {**failed_results(outcome), "message": outcome.message}, True


class Mcp:
    """The ASGI app at /mcp: builds the SDK's server on its first request."""

    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.task_group: TaskGroup | None = None  # the app's lifespan sets it
        self._manager: Any = None
        self._lock = anyio.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        manager = self._manager or await self._start()
        await manager.handle_request(scope, receive, send)

    async def _start(self) -> Any:
        async with self._lock:
            if self._manager is None:
                from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

                if self.task_group is None:
                    raise ApiError(503, "NOT_READY", "the API is starting or stopping")
                manager = StreamableHTTPSessionManager(app=self._server(), stateless=True, json_response=True)
                await self.task_group.start(self._run, manager)
                self._manager = manager
        return self._manager

    @staticmethod
    async def _run(manager: Any, *, task_status: TaskStatus[None]) -> None:
        async with manager.run():
            task_status.started()
            await anyio.sleep_forever()

    def _server(self) -> Any:
        from mcp import types
        from mcp.server.lowlevel import Server

        from wagw import __version__

        tools = [types.Tool(**definition) for definition in tool_definitions()]

        async def list_tools(ctx: Any, params: Any) -> Any:
            return types.ListToolsResult(tools=tools)

        async def call_tool(ctx: Any, params: Any) -> Any:
            try:
                structured, is_error = await self.call(ctx.request, params.name, params.arguments or {})
            except ApiError as error:
                structured, is_error = {"status": "refused", "error": error.code, "message": error.message}, True
            text = json.dumps(structured, ensure_ascii=False)
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=text)], structured_content=structured, is_error=is_error
            )

        return Server("wagw", version=__version__, on_list_tools=list_tools, on_call_tool=call_tool)

    async def call(self, request: Any, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Run a tool for the logged-in principal of `request` (the HTTP request carrying it)."""
        principal = getattr(request.state, "principal", None) if request is not None else None
        if principal is None:
            raise ApiError(401, "UNAUTHORIZED", "log in")
        context = self.context
        if tool == JOB_TOOL:
            found = await anyio.to_thread.run_sync(context.caller.job_outcome, str(arguments.get("job_id", ""))[:128])
            if found is None or not principal.may_use(account_of_queue(context, found[1])):
                raise ApiError(404, "JOB_NOT_FOUND", "no such wa job (it may have expired)")
            return tool_answer(found[0])
        group = tool.removeprefix(PREFIX)
        action = arguments.get("action")
        if group not in GROUPS or action not in GROUPS[group]:
            raise ApiError(400, "UNKNOWN_ACTION", f"{tool} has no action {str(action)[:64]!r}")
        given = arguments.get("device_id") or request.headers.get(DEVICE_HEADER) or principal.account
        account = await select_account(context.aconn, context.roster.get(), given)
        if not principal.may_use(account.name):
            raise ApiError(403, "FORBIDDEN", "this token logs in for another account only")
        call_arguments = arguments.get("arguments") or {}
        if not isinstance(call_arguments, dict):
            raise ApiError(400, "VALIDATION_ERROR", f"invalid arguments for {action}: give an object")
        outcome = await context.caller.call(
            account, str(action), call_arguments, respond_async=bool(arguments.get("respond_async"))
        )
        return tool_answer(outcome)
