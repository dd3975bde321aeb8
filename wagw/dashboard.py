"""`wagw dashboard`: rq-dashboard with the JSON serializer, always behind a password, loopback
by default.

Without WAGW_DASHBOARD_USER/PASSWORD the login is user `wagw` with a password generated on
first start and kept in the data dir (0600); `wagw dashboard --show-login` prints it.

rq-dashboard 0.9 is used as a library (its Flask blueprint) and served by waitress. Five
things are fixed on top of it:

- Its job view and delete fetch jobs with RQ's default serializer, pickle: a job whose data
  someone wrote as a pickle would run code in the dashboard. Both fetch with JSON instead.

- Its workers data endpoint lists workers with RQ's default (pickle) serializer, so reading
  the current job of a worker running a JSON job raises DeserializationError: HTTP 500 on
  the workers page whenever a wa or webhook job runs. That view is replaced by one that
  passes wagw's serializer; requeue views get the serializer too.
- Its client-side templates print job data (arguments, results, tracebacks, worker names)
  unescaped. Results hold text any WhatsApp user chooses (push names, "about" texts), so the
  templates are served with every interpolation HTML-escaped.
- Its navbar shows the Redis URL with only `user:password@` masked; a password in the query
  (`?password=`) showed. wagw masks every credential (wagw.redact).
- Its POST endpoints (delete, requeue) and the GET "requeue all" would follow a cross-site
  request carrying cached basic-auth credentials; they require the X-Requested-With header
  that the dashboard's own jQuery calls send and a cross-site form cannot.

Failed logins are throttled per client and in total (wagw.loginthrottle): 429 with
Retry-After, the password not even checked.

Requests must name the dashboard in their Host header (an IP address, localhost, or a name in
WAGW_DASHBOARD_HOSTS; wagw.hostcheck, shared with the metrics exporter), so a page that rebinds
its own DNS name to this address reaches nothing.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import os
import re
import secrets
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from wagw.errors import DashboardConfigError
from wagw.exitcodes import ExitCode
from wagw.hostcheck import host_guard
from wagw.loginthrottle import LoginThrottle
from wagw.redact import mask_url
from wagw.redisconn import SERIALIZER

if TYPE_CHECKING:
    import argparse

    from flask import Flask
    from redis import Redis

    from wagw.config import Settings

DEFAULT_ADDR = "127.0.0.1:9181"
REALM = "wagw dashboard"
GENERATED_USER = "wagw"
PASSWORD_FILE = "dashboard.password"


def split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public address


def configured_credentials(settings: Settings) -> tuple[str, str] | None:
    """(user, password) when both are set, None when neither; half a pair is a config error."""
    password = settings.dashboard_password.get_secret_value() if settings.dashboard_password else ""
    if bool(settings.dashboard_user) != bool(password):
        missing = "WAGW_DASHBOARD_PASSWORD" if settings.dashboard_user else "WAGW_DASHBOARD_USER"
        raise DashboardConfigError(
            f"invalid setting {missing}: set both WAGW_DASHBOARD_USER and WAGW_DASHBOARD_PASSWORD, or neither"
        )
    return (settings.dashboard_user, password) if password else None


def generated_password(settings: Settings) -> str:
    """The password kept in the data dir, made (0600) on first use."""
    path = Path(settings.data_dir) / PASSWORD_FILE
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    password = secrets.token_urlsafe(24)
    with os.fdopen(fd, "w") as file:
        file.write(password + "\n")
    return password


def credentials(settings: Settings) -> tuple[str, str]:
    """The login: the configured pair, else user `wagw` with the generated password."""
    return configured_credentials(settings) or (GENERATED_USER, generated_password(settings))


def resolve_addr(settings: Settings, override: str | None = None) -> tuple[str, int]:
    """Where to listen, and refuse an address reachable from outside without credentials."""
    configured = configured_credentials(settings)
    addr = override or settings.dashboard_addr or DEFAULT_ADDR
    try:
        host, port = split_addr(addr)
    except ValueError:
        raise DashboardConfigError(f"invalid setting WAGW_DASHBOARD_ADDR: {addr!r} is not host:port") from None
    if not is_loopback(host) and configured is None:
        raise DashboardConfigError(
            f"invalid setting WAGW_DASHBOARD_USER: the dashboard binds to {host}, which is not "
            "loopback, so WAGW_DASHBOARD_USER and WAGW_DASHBOARD_PASSWORD are required "
            "(or bind to 127.0.0.1 and use an SSH tunnel)"
        )
    return host, port


# Underscore's `<%= x %>` inserts raw HTML, `<%- x %>` escapes it. The few places that
# already escape through jQuery (`<%= $('<div/>').text(...).html() %>`) are left alone.
_RAW_INTERPOLATION = re.compile(r"<%=(?!\s*\$\()")


def _escaping_loader(loader):
    from jinja2 import BaseLoader

    class EscapingLoader(BaseLoader):
        def get_source(self, environment, template):
            source, filename, uptodate = loader.get_source(environment, template)
            return _RAW_INTERPOLATION.sub("<%-", source), filename, uptodate

    return EscapingLoader()


def _redis() -> Redis:
    from flask import current_app

    return current_app.redis_conn  # type: ignore[attr-defined]  # set by rq-dashboard's setup_rq_connection


def _install_fixed_views(app: Flask) -> None:
    from rq import Queue, Worker, requeue_job
    from rq.exceptions import DeserializationError, NoSuchJobError
    from rq.job import Job
    from rq_dashboard import web

    class JsonJob(Job):
        """What rq-dashboard's job view and delete fetch: never with pickle."""

        @classmethod
        def fetch(cls, id, connection=None, serializer: object = None):
            # Whatever serializer rq-dashboard passes (none: pickle), jobs are read as JSON.
            return super().fetch(id, connection=connection, serializer=SERIALIZER)

    if getattr(web, "Job", None) is not Job:  # written against rq-dashboard 0.9
        raise RuntimeError("rq-dashboard no longer fetches jobs through rq.job.Job: update wagw.dashboard")
    web.Job = JsonJob
    # Its navbar shows the Redis URL masking only `user:password@`: a `?password=` showed.
    if not callable(getattr(web, "escape_format_instance_list", None)):  # written against rq-dashboard 0.9
        raise RuntimeError("rq-dashboard no longer shows Redis URLs through escape_format_instance_list")
    web.escape_format_instance_list = lambda urls: [mask_url(u) for u in ([urls] if isinstance(urls, str) else urls)]

    def current_job(worker):
        try:
            return web.serialize_current_job(worker.get_current_job())
        except (DeserializationError, NoSuchJobError):
            # A job enqueued with pickle by something else: show it, do not fail the page.
            return {
                "job_id": worker.get_current_job_id(),
                "description": "(unreadable job)",
                "created_at": None,
                "call_string": "(unreadable job)",
            }

    @web.jsonify
    def list_workers(instance_number):
        workers = [
            {
                "name": worker.name,
                "pid": worker.pid,
                "queues": [queue.name for queue in worker.queues],
                "state": str(worker.get_state()),
                "current_job": current_job(worker),
                "last_heartbeat": worker.last_heartbeat,
                "birth_date": worker.birth_date,
                "successful_job_count": worker.successful_job_count,
                "failed_job_count": worker.failed_job_count,
                "total_working_time": worker.total_working_time,
                "version": getattr(worker, "version", ""),
                "python_version": getattr(worker, "python_version", ""),
            }
            for worker in Worker.all(connection=_redis(), serializer=SERIALIZER)
        ]
        workers.sort(key=lambda w: (w["state"], w["queues"], w["name"]))
        return {"workers": workers}

    @web.jsonify
    def requeue_job_view(job_id):
        requeue_job(job_id, connection=_redis(), serializer=SERIALIZER)
        return {"status": "OK"}

    @web.jsonify
    def requeue_all(queue_name):
        registry = Queue(queue_name, serializer=SERIALIZER, connection=_redis()).failed_job_registry
        job_ids = registry.get_job_ids(cleanup=False)
        for job_id in job_ids:
            requeue_job(job_id, connection=_redis(), serializer=SERIALIZER)
        return {"status": "OK", "count": len(job_ids)}

    # A job that expired (or a mistyped id) is a 404, not a traceback and a 500.
    app.register_error_handler(NoSuchJobError, lambda error: ("No such job: it may have expired.", 404))
    replacements = {
        "rq_dashboard.list_workers": list_workers,
        "rq_dashboard.requeue_job_view": requeue_job_view,
        "rq_dashboard.requeue_all": requeue_all,
    }
    for endpoint, view in replacements.items():
        if endpoint not in app.view_functions:  # written against rq-dashboard 0.9
            raise RuntimeError(f"rq-dashboard has no endpoint {endpoint}: update wagw.dashboard for this version")
        app.view_functions[endpoint] = view


def _install_guards(app: Flask, user: str, password: str, host_names: list[str], throttle: LoginThrottle) -> None:
    from flask import Response, request

    app.wsgi_app = host_guard(app.wsgi_app, host_names, "WAGW_DASHBOARD_HOSTS")  # type: ignore[method-assign]

    def login_required() -> Response:
        return Response("Login required", 401, {"WWW-Authenticate": f'Basic realm="{REALM}"'})

    @app.before_request
    def guard():
        auth = request.authorization
        if auth is None:  # a browser's first request: no guess made
            return login_required()
        client = request.remote_addr or "unknown"
        wait = throttle.acquire(client)
        if wait:
            return Response("Too many failed logins: try again later", 429, {"Retry-After": str(math.ceil(wait))})
        ok = hmac.compare_digest((auth.username or "").encode(), user.encode()) and hmac.compare_digest(
            (auth.password or "").encode(), password.encode()
        )
        if not ok:
            return login_required()  # the attempt stays spent
        throttle.release(client)
        changes_state = request.method not in ("GET", "HEAD") or request.endpoint == "rq_dashboard.requeue_all"
        if changes_state and request.headers.get("X-Requested-With") != "XMLHttpRequest":
            return Response("Forbidden: missing X-Requested-With", 403)
        return None

    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


def build_app(settings: Settings) -> Flask:
    """The rq-dashboard Flask app for wagw's Redis, JSON serializer and credentials."""
    from rq_dashboard.cli import make_flask_app
    from rq_dashboard.web import config as dashboard_config
    from rq_dashboard.web import setup_rq_connection

    dashboard_config.serializer = SERIALIZER
    # Auth is added by _install_guards (constant-time compare, on this app only), not by
    # rq-dashboard's helper, which mutates its module-level blueprint.
    app = make_flask_app(None, None, None, "")
    app.config["RQ_DASHBOARD_REDIS_URL"] = settings.effective_redis_url
    app.config["DEPRECATED_OPTIONS"] = []
    setup_rq_connection(app)
    app.jinja_env.loader = _escaping_loader(app.create_global_jinja_loader())
    _install_fixed_views(app)
    user, password = credentials(settings)
    _install_guards(app, user, password, settings.dashboard_hosts, LoginThrottle(settings.dashboard_login_window))
    return app


def main(settings: Settings, args: argparse.Namespace) -> int:
    """Serve the dashboard until SIGTERM/SIGINT. Exit 78 on an unsafe or invalid address."""
    if getattr(args, "show_login", False):
        try:
            user, password = credentials(settings)
        except DashboardConfigError as error:
            logger.error("{}", error)
            return ExitCode.CONFIG
        print(f"user: {user}\npassword: {password}")
        return ExitCode.OK
    try:
        host, port = resolve_addr(settings, getattr(args, "addr", None))
    except DashboardConfigError as error:
        logger.error("{}", error)
        return ExitCode.CONFIG

    import waitress

    app = build_app(settings)
    try:
        server = waitress.create_server(app, host=host, port=port, threads=4, ident="wagw")
    except OSError as error:
        logger.error("dashboard cannot listen on {}:{}: {}", host, port, error)
        return ExitCode.TEMPFAIL

    def stop(signum, frame):
        raise SystemExit(ExitCode.OK)  # waitress's loop closes its sockets on SystemExit

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    login = "the configured login" if settings.dashboard_user else "user wagw, `wagw dashboard --show-login`"
    logger.info("dashboard listening on http://{}:{}/ ({})", host, port, login)
    server.run()
    logger.info("dashboard stopped")
    return ExitCode.OK
