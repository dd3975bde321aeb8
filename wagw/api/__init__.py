"""The HTTP API and MCP (`wagw api`): apps in any language enqueue wa jobs and read their
outcomes over HTTP. It only enqueues and reads Redis; it never loads neonize.

- `app`: the FastAPI application and the list of routers it serves.
- `calls`: the one call core every way in uses (native routes, compatible routes, MCP).
- `selection`: which account a request is for (X-Device-Id / device_id).
- `envelope`: the `{"code", "message", "results"}` body and ApiError.
- `auth`, `tokens`: basic auth, per-account bearer tokens, the failed-login budget.
- `uploads`: multipart files streamed into the media folder.
- `native`: routes generated from the operation table, `/jobs/{id}`, `/health`.
- `mcp`: the MCP server at `/mcp`.
- `process`: `wagw api` (uvicorn).
"""
