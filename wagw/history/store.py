"""Opening the history store: SQLite in the data dir (file 0600, WAL) or the PostgreSQL of
WAGW_HISTORY_URL; its schema brought up to date with alembic (the writer does, at start).

The URL may hold a password: it is never logged; `shown` gives what may be."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from wagw.errors import StoreMissing
from wagw.history.schema import FTS_TABLE, VERSION_TABLE

if TYPE_CHECKING:
    from wagw.config import Settings

SQLITE_FILE = "history.sqlite3"
# How long a statement waits for SQLite's lock before it fails "database is locked": short,
# so that the writer notices a held lock, says so and keeps its status fresh.
SQLITE_BUSY_MS = 2000
SQLITE_MMAP_BYTES = 256 * 1024 * 1024  # address space, not memory: the OS keeps what is read


@dataclass
class Store:
    engine: sa.Engine
    shown: str  # where it is, for logs and errors: a path, or the URL without its password

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def has_fts(self) -> bool:
        if not self.sqlite:
            return False
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": FTS_TABLE}
            )
            return found.first() is not None

    def close(self) -> None:
        self.engine.dispose()


def url_of(settings: Settings) -> str:
    if settings.history_url is not None:
        return postgres_driver(settings.history_url.get_secret_value())
    return f"sqlite:///{sqlite_path(settings)}"


def sqlite_path(settings: Settings) -> Path:
    return settings.data_dir.resolve() / SQLITE_FILE


def postgres_driver(url: str) -> str:
    """postgres:// and postgresql:// (what people write) through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def open_store(settings: Settings, *, create: bool = False) -> Store:
    """The store of these settings. `create` (the writer, doctor): make the SQLite file (0600)
    if missing; else a missing file is StoreMissing rather than an empty new database."""
    return open_url(url_of(settings), create=create)


def open_url(url: str, *, create: bool = False) -> Store:
    parsed = make_url(postgres_driver(url))
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not path.exists():
            if not create:
                raise StoreMissing(f"no history store at {path} yet: the history process creates it")
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)  # whatever made it: message text is in it
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return Store(engine, str(path))
    engine = sa.create_engine(parsed, pool_pre_ping=True)
    return Store(engine, parsed.render_as_string(hide_password=True))


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at each checkpoint, never corrupt
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")  # reads from the page cache, no copies
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def store_error(error: BaseException) -> str:
    """What went wrong with the store, without the statement or its parameters (message text)."""
    orig = getattr(error, "orig", None) or error
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(orig).__name__}: {first}" if first else type(orig).__name__


def migrate(store: Store) -> str:
    """Bring the schema up to date (alembic, in one transaction); returns the revision."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines say nothing to an operator
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", "wagw.history:migrations")
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        revision = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    return revision or ""


def revision(store: Store) -> str | None:
    """The schema's revision, None when the store has none yet."""
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def check_writable(settings: Settings) -> tuple[bool, str]:
    """(writable, what was found) for `wagw doctor`: a write the store must take (rolled back)."""
    if settings.history_url is None and not sqlite_path(settings).exists():
        folder = settings.data_dir.resolve()
        if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
            return False, f"{folder} is not writable: the history process cannot create {SQLITE_FILE} there"
        return True, f"{sqlite_path(settings)} does not exist yet; the history process creates it (0600)"
    from sqlalchemy.exc import SQLAlchemyError

    from wagw.history.schema import cursors

    try:
        store = open_store(settings)
    except (SQLAlchemyError, OSError) as error:
        return False, f"cannot open the history store: {type(error).__name__}"
    try:
        if revision(store) is None:
            return True, f"{store.shown} has no tables yet; the history process creates them"
        with store.engine.connect() as conn, conn.begin() as transaction:
            conn.execute(sa.delete(cursors).where(cursors.c.stream == "doctor"))  # takes the write lock
            transaction.rollback()
        return True, f"{store.shown}: writable"
    except SQLAlchemyError as error:
        orig = getattr(error, "orig", None) or error
        return False, f"{store.shown} cannot be written: {(str(orig).splitlines() or [''])[0][:200]}"
    finally:
        store.close()
