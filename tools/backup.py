"""Back up and restore Baton's PostgreSQL database (`make backup`, `make restore`).

    python tools/backup.py dump [--output FILE]          # pg_dump, custom format
    python tools/backup.py restore FILE [--replace]       # pg_restore, all or nothing
    python tools/backup.py checksums                      # rows and an MD5 of every table, sequences

The database is DATABASE_URL (or `--database-url`), read the way the
settings read it. Its password goes to pg_dump and pg_restore through their
environment, never their command line. The client tools' major version must
be at least the server's.

A dump is written beside its final name and renamed once pg_dump has
succeeded, so a file with the final name is a whole dump. A restore runs
in a single transaction: it replaces everything or changes nothing. It
refuses a database that already has tables unless `--replace` is given
(then the dump's tables, sequences and data replace what is there); stop
web, workers and beat first. Ownership and grants are not restored: the
restoring role owns what it creates.

`checksums` prints, as JSON, each table's row count and an MD5 of its rows
in a fixed order, and each sequence's last value: the same output before a
dump and after its restore means the data came back identical.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = REPO_ROOT / "var" / "backups"

# Connection options a DATABASE_URL may carry (`?sslmode=require`), as libpq's environment variables.
LIBPQ_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
}


class BackupError(Exception):
    """Something the operator must fix; printed without a traceback."""


def database_config(url: str | None) -> dict[str, Any]:
    import environ

    url = url or os.environ.get("DATABASE_URL", "")
    if not url:
        raise BackupError("DATABASE_URL is not set: name the PostgreSQL database to back up or restore.")
    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        raise BackupError(
            f"Backups cover PostgreSQL; DATABASE_URL names {config['ENGINE']}. "
            "The embedded SQLite default is one file: copy it while Baton is stopped."
        )
    if not config.get("NAME"):
        raise BackupError("DATABASE_URL names no database.")
    return config


def libpq_environment(config: dict[str, Any]) -> dict[str, str]:
    """The client tools' environment for `config`: host, port, user, password, database and URL options."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    pairs = {
        "PGHOST": config.get("HOST"),
        "PGPORT": config.get("PORT"),
        "PGUSER": config.get("USER"),
        "PGPASSWORD": config.get("PASSWORD"),
        "PGDATABASE": config["NAME"],
    }
    for option, value in (config.get("OPTIONS") or {}).items():
        if option not in LIBPQ_OPTIONS:
            raise BackupError(f"DATABASE_URL option {option!r} is not one the backup passes on to PostgreSQL.")
        pairs[LIBPQ_OPTIONS[option]] = value
    env.update({key: str(value) for key, value in pairs.items() if value not in (None, "")})
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed ({result.returncode}):\n{result.stderr.strip()}")


def dump(*, config: dict[str, Any], output: Path | None = None) -> Path:
    """pg_dump of the whole database in custom format; returns the file written."""
    if output is None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        output = DEFAULT_FOLDER / f"{config['NAME']}-{stamp}.dump"
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    try:
        _run([_tool("pg_dump"), "--format=custom", f"--file={partial}"], libpq_environment(config))
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return output


def _connect(config: dict[str, Any]):
    import psycopg2

    libpq_environment(config)  # refuses options it would not pass on, as the client tools would get them
    keywords = {
        "dbname": config["NAME"],
        "host": config.get("HOST"),
        "port": config.get("PORT"),
        "user": config.get("USER"),
        "password": config.get("PASSWORD"),
        **(config.get("OPTIONS") or {}),
    }
    return psycopg2.connect(**{key: value for key, value in keywords.items() if value not in (None, "")})


def user_tables(config: dict[str, Any]) -> list[tuple[str, str]]:
    connection = _connect(config)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') "
                "ORDER BY 1, 2"
            )
            return [(schema, name) for schema, name in cursor.fetchall()]
    finally:
        connection.close()


def restore(*, config: dict[str, Any], path: Path, replace: bool = False) -> None:
    """pg_restore `path` into the database, in one transaction."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file.")
    if not replace and user_tables(config):
        raise BackupError(
            f"Database {config['NAME']!r} already has tables; restoring replaces them. "
            "Stop web, workers and beat, then run again with --replace (make restore ... REPLACE=1)."
        )
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={config['NAME']}",
            str(path),
        ],
        libpq_environment(config),
    )


def checksums(*, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{"tables": {schema.table: {"rows", "md5"}}, "sequences": {schema.sequence: last value}}."""
    import psycopg2.extensions
    from psycopg2 import sql

    tables = user_tables(config)
    connection = _connect(config)
    try:
        # One snapshot for every table, so the figures belong together even while something writes.
        connection.isolation_level = psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ
        connection.readonly = True
        result: dict[str, dict[str, Any]] = {"tables": {}, "sequences": {}}
        with connection.cursor() as cursor:
            for schema, name in tables:
                cursor.execute(
                    sql.SQL(
                        "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                        "FROM {}.{} AS t"
                    ).format(sql.Identifier(schema), sql.Identifier(name))
                )
                rows, digest = cursor.fetchone()
                result["tables"][f"{schema}.{name}"] = {"rows": rows, "md5": digest}
            cursor.execute("SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2")
            for schema, name, last_value in cursor.fetchall():
                result["sequences"][f"{schema}.{name}"] = last_value
        connection.rollback()
        return result
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL")
    commands = parser.add_subparsers(dest="command", required=True)
    dump_parser = commands.add_parser("dump", help="pg_dump the database (custom format)")
    dump_parser.add_argument("--output", type=Path, help=f"default: {DEFAULT_FOLDER}/<database>-<UTC time>.dump")
    restore_parser = commands.add_parser("restore", help="pg_restore a dump, in one transaction")
    restore_parser.add_argument("file", type=Path)
    restore_parser.add_argument("--replace", action="store_true", help="replace a database that has tables")
    commands.add_parser("checksums", help="print each table's rows and MD5, and each sequence's last value")
    args = parser.parse_args(argv)
    try:
        config = database_config(args.database_url)
        if args.command == "dump":
            written = dump(config=config, output=args.output)
            print(f"Backed up {config['NAME']!r} to {written} ({written.stat().st_size:,} bytes).")
        elif args.command == "restore":
            restore(config=config, path=args.file, replace=args.replace)
            print(f"Restored {args.file} into {config['NAME']!r}.")
        else:
            print(json.dumps(checksums(config=config), indent=2, sort_keys=True))
    except BackupError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
