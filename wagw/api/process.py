"""`wagw api`: the HTTP API and MCP served by uvicorn, until SIGTERM/SIGINT.

The first signal stops it gracefully: no new connections, calls waiting for their job answer
202 with the job id at once, open requests finish within WAGW_SHUTDOWN_GRACE; a second
signal ends it at once. An address reachable from outside without any credentials (neither
WAGW_API_BASIC_AUTH nor an account's token) refuses to start: exit 78.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger

from wagw.dashboard import is_loopback, split_addr
from wagw.errors import ApiConfigError as ApiConfigError  # defined once, there
from wagw.exitcodes import ExitCode

if TYPE_CHECKING:
    import argparse
    from types import FrameType

    from wagw.config import Settings

DEFAULT_ADDR = "127.0.0.1:3000"


def resolve_addr(settings: Settings, override: str | None, tokens_issued: bool) -> tuple[str, int]:
    addr = override or settings.api_addr or DEFAULT_ADDR
    try:
        host, port = split_addr(addr)
    except ValueError:
        raise ApiConfigError(f"invalid setting WAGW_API_ADDR: {addr!r} is not host:port") from None
    if not is_loopback(host) and not settings.api_logins and not tokens_issued:
        raise ApiConfigError(
            f"invalid setting WAGW_API_BASIC_AUTH: the API binds to {host}, which is not loopback, and has no "
            "credentials: set WAGW_API_BASIC_AUTH (user:pass) or make an account token "
            "(`wagw accounts token NAME`), or bind to 127.0.0.1"
        )
    return host, port


def main(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn
    from redis.exceptions import RedisError

    from wagw.accounts import Roster
    from wagw.api import tokens
    from wagw.api.front import AnsweredErrors, Front
    from wagw.api.writes import JoinedWritesHttpToolsProtocol
    from wagw.redisconn import connect
    from wagw.rqcompat import quicken_rq

    quicken_rq()  # every call builds a Queue and a Job: rq checked the serializer each time
    conn = connect(settings)
    try:
        issued = tokens.any_issued(conn) if not settings.api_logins else True
    except (RedisError, OSError) as error:
        logger.error("api: Redis at {} does not answer: {}", settings.redis_url_shown, error)
        return ExitCode.TEMPFAIL
    try:
        host, port = resolve_addr(settings, getattr(args, "addr", None), issued)
    except ApiConfigError as error:
        logger.error("{}", error)
        return ExitCode.CONFIG
    if not settings.api_logins and not issued:
        logger.warning("api: no WAGW_API_BASIC_AUTH and no account token yet: make one with `wagw accounts token NAME`")
    app = Front(settings, Roster.load(settings), conn=conn)  # FastAPI's app when first needed
    caller = app.context.caller

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # First signal: graceful; a second one (any): at once. Not re-raised after the
            # stop as uvicorn does, so a stop asked for ends with exit 0.
            caller.stopping = True  # waiting calls answer 202 now, not at WAGW_API_WAIT
            if self.should_exit:
                self.force_exit = True
            self.should_exit = True

    config = uvicorn.Config(
        AnsweredErrors(app),
        host=host,
        port=port,
        http=JoinedWritesHttpToolsProtocol,  # an answer's head and body in one send()
        loop="asyncio",  # the same loop whether or not uvloop is installed
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace) - 2),
        lifespan="on",
    )
    server = Server(config)
    shown = host if ":" not in host else f"[{host}]"
    logger.info("api listening on http://{}:{}/ (docs: /docs, MCP: /mcp)", shown, port)
    server.run()
    if not server.started:
        return ExitCode.TEMPFAIL
    logger.info("api stopped")
    return ExitCode.OK
