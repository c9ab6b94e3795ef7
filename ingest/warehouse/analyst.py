"""SQL for the analysts' side of the warehouse: the read-only group role, login roles granted it, and search.

Roles are cluster-wide and need CREATEROLE: they are made by a command (`wirewatch analyst create-role`, `grant`),
never by a migration. Everything here is idempotent: creating a role that exists, granting twice, or two
commands racing leave the same state. The group role gets USAGE on schema `analyst` and SELECT on its views,
nothing else; the views read the tables with their owner's rights, so an analyst never touches raw_records,
rejected_records, cursors or ingest_runs, and cannot write anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

ANALYST_ROLE = "wirewatch_analyst"
SCHEMA = "analyst"
_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def check_role_name(name: str) -> str:
    """Role names are plain lower-case identifiers here: no quoting surprises in psql or pg_hba.conf."""
    if not _NAME.match(name or ""):
        raise ValueError(f"invalid role name {name!r}: use lower-case letters, digits and _ (max 63)")
    return name


@dataclass
class Limits:
    """What an analyst's login may cost the server. Set on each login role (a group role's settings do not reach
    its members). `statement_timeout` and `idle_in_transaction_session_timeout` are session defaults an analyst
    could change with SET; `temp_file_limit` needs a superuser to change (and to set: without one it is reported,
    not set); the connection limit is enforced by the server."""

    statement_timeout: str = "5min"
    idle_in_transaction_session_timeout: str = "10min"
    temp_file_limit: str = "1GB"
    connection_limit: int = 5

    def settings(self) -> list[tuple[str, str]]:
        return [
            ("default_transaction_read_only", "on"),
            ("statement_timeout", self.statement_timeout),
            ("idle_in_transaction_session_timeout", self.idle_in_transaction_session_timeout),
            ("temp_file_limit", self.temp_file_limit),
        ]


@dataclass
class RoleReport:
    role: str
    created: bool = False
    problems: list[str] = field(default_factory=list)  # why the role is not (only) read-only


def role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", (role,)).fetchone()[0]


def _create_role(conn: psycopg.Connection, role: str, options: sql.Composable) -> bool:
    """CREATE ROLE unless it exists; a concurrent creator winning the race is not an error."""
    if role_exists(conn, role):
        return False
    try:
        with conn.transaction():
            conn.execute(sql.SQL("CREATE ROLE {} ").format(sql.Identifier(role)) + options)
    except psycopg.errors.DuplicateObject:
        return False
    return True


def grant_read(conn: psycopg.Connection, role: str = ANALYST_ROLE) -> None:
    """USAGE on schema analyst, SELECT on every view in it now and later, CONNECT on this database."""
    ident = sql.Identifier(role)
    conn.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(conn.info.dbname), ident)
    )
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA analyst TO {}").format(ident))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA analyst TO {}").format(ident))
    conn.execute(sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analyst TO {}").format(ident))
    # Views a later migration adds (created by this same owner) are readable without another grant.
    conn.execute(
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA analyst GRANT SELECT ON TABLES TO {}").format(ident)
    )


def revoke_temp(conn: psycopg.Connection, role: str) -> None:
    """No temporary tables (nor temp functions, nor temp files from them) for analysts in this database.

    TEMP is granted to PUBLIC by default, so revoking it from the role alone changes nothing: it is revoked from
    PUBLIC, and given back explicitly to the role running this command (the pipeline's role: the loader stages
    rows in a temp table) and to the database owner. Any other role that needs temp tables here needs
    `GRANT TEMP ON DATABASE <db> TO <role>`. Superusers are not affected."""
    db = sql.Identifier(conn.info.dbname)
    conn.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(db))
    conn.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM {}").format(db, sql.Identifier(role)))
    owner = conn.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    ).fetchone()[0]
    for keep in {conn.info.user, owner} - {role}:
        if keep and role_exists(conn, keep):
            conn.execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(db, sql.Identifier(keep)))


def apply_limits(conn: psycopg.Connection, user: str, limits: Limits, report: RoleReport) -> None:
    """Read-only default, timeouts, temp file limit (in this database) and the connection limit for `user`."""
    ident = sql.Identifier(user)
    db = sql.Identifier(conn.info.dbname)
    conn.execute(
        sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(ident, sql.Literal(limits.connection_limit))
    )
    for setting, value in limits.settings():
        try:
            with conn.transaction():
                conn.execute(
                    sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} = {}").format(
                        ident, db, sql.Identifier(setting), sql.Literal(value)
                    )
                )
        except psycopg.errors.InsufficientPrivilege:
            # temp_file_limit is a superuser setting: a non-superuser admin cannot set it for a role.
            report.problems.append(f"{setting} not set (needs a superuser): temp files are not bounded")


def members(conn: psycopg.Connection, role: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            """SELECT m.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid
               JOIN pg_roles m ON m.oid = a.member WHERE g.rolname = %s AND m.rolcanlogin ORDER BY 1""",
            (role,),
        )
    ]


def create_analyst_role(
    conn: psycopg.Connection, role: str = ANALYST_ROLE, *, limits: Limits | None = None
) -> RoleReport:
    """Create the NOLOGIN group role (if missing), grant it read access to schema analyst, take TEMP away, and
    (with `limits`) apply them again to every login role in the group. Commits."""
    check_role_name(role)
    report = RoleReport(role)
    report.created = _create_role(conn, role, sql.SQL("NOLOGIN"))
    grant_read(conn, role)
    revoke_temp(conn, role)
    conn.commit()
    if limits is not None:
        for user in members(conn, role):
            apply_limits(conn, user, limits, report)
        conn.commit()
    report.problems += audit_role(conn, role, group=role)
    return report


def grant_user(
    conn: psycopg.Connection,
    user: str,
    *,
    password: str | None = None,
    role: str = ANALYST_ROLE,
    limits: Limits | None = None,
) -> RoleReport:
    """A login role `user` that is a member of the analyst group role (both created if missing). A password,
    when given, is hashed here (SCRAM, libpq's PQencryptPasswordConn) so the clear text never reaches the
    server or its logs. The login gets read-only transactions, UTC and search_path=analyst in this database, and
    the `limits` (timeouts, temp file limit, connection limit; `Limits()` by default).
    Refuses a superuser or a role that can create roles: it would not be read-only. Commits."""
    check_role_name(user)
    check_role_name(role)
    if user == role:
        raise ValueError("the login role must differ from the group role")
    create_analyst_role(conn, role)
    row = conn.execute(
        "SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = %s", (user,)
    ).fetchone()
    if row is not None and any(row):
        raise PermissionError(
            f"role {user} is a superuser or can create roles / bypass RLS: it cannot be made read-only"
        )
    report = RoleReport(user)
    ident = sql.Identifier(user)
    report.created = _create_role(conn, user, sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT"))
    if not report.created:
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(ident))
    if password is not None:
        hashed = conn.pgconn.encrypt_password(password.encode(), user.encode()).decode()
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(hashed)))
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), ident))
    db = sql.Identifier(conn.info.dbname)
    apply_limits(conn, user, limits or Limits(), report)
    for setting, value in (
        ("timezone", "UTC"),
        ("search_path", "analyst"),
    ):
        conn.execute(
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} = {}").format(
                ident, db, sql.Identifier(setting), sql.Literal(value)
            )
        )
    conn.commit()
    report.problems += audit_role(conn, user, group=role)
    return report


def revoke_user(conn: psycopg.Connection, user: str, *, role: str = ANALYST_ROLE, drop: bool = False) -> None:
    """Take the analyst role away from `user` (and drop the login role when `drop`). Commits."""
    check_role_name(user)
    if not role_exists(conn, user):
        return
    if role_exists(conn, role):
        conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(role), sql.Identifier(user)))
    if drop:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(user)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(user)))
    conn.commit()


_AUDIT = """
WITH r AS (SELECT oid, rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin
           FROM pg_roles WHERE rolname = %(role)s)
SELECT 'is a superuser' FROM r WHERE rolsuper
UNION ALL SELECT 'can create roles' FROM r WHERE rolcreaterole
UNION ALL SELECT 'can create databases' FROM r WHERE rolcreatedb
UNION ALL SELECT 'bypasses row level security' FROM r WHERE rolbypassrls
UNION ALL SELECT 'is a member of ' || g.rolname FROM r
    JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid
    WHERE g.rolname NOT IN (%(group)s) OR g.rolname IN ('pg_write_all_data', 'pg_read_all_data', 'pg_read_server_files',
                                                        'pg_write_server_files', 'pg_execute_server_program')
UNION ALL SELECT 'has ' || string_agg(DISTINCT p.priv, ', ') || ' on ' || n.nspname || '.' || c.relname
    FROM r CROSS JOIN pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(priv)
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_%%'
      AND has_table_privilege(r.oid, c.oid, p.priv)
      AND (n.nspname <> 'analyst' OR p.priv <> 'SELECT')
    GROUP BY n.nspname, c.relname
"""


def audit_role(conn: psycopg.Connection, role: str, *, group: str = ANALYST_ROLE) -> list[str]:
    """What makes `role` more than a reader of schema analyst (in this database): empty when it is exactly that."""
    rows = conn.execute(_AUDIT, {"role": role, "group": group}).fetchall()
    conn.commit()
    return [r[0] for r in rows]


# The title of a result row's channel (the row's alias in {0}), looked up for the rows returned only: a channel
# known by its title alone (a Telethon dump named by a channels.csv) is then named, not numbered. Joined at the
# level of analyst.search() the lookup ran for every match scanned (36 ms against 1.6 ms on the real news set).
CHANNEL_TITLE = """(SELECT c.title FROM analyst.channels c
                    WHERE c.platform = {0}.platform AND c.channel_id = {0}.channel_id) AS channel_title"""


def search(
    conn: psycopg.Connection,
    query: str,
    *,
    since: datetime | None = None,
    ranked: bool = False,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """analyst.search(): posts matching `query` in any language, newest first (ranked: best first, which ranks
    every match and so takes longer for common words)."""
    cur = conn.cursor(row_factory=dict_row).execute(
        f"""SELECT s.*, {CHANNEL_TITLE.format("s")}
            FROM (SELECT platform, channel, channel_id, post_id, posted_at, lang, url, rank, snippet, text
                  FROM analyst.search(%s, %s, %s) LIMIT %s) s""",  # noqa: S608 - a constant clause
        (query, since, ranked, limit),
    )
    return cur.fetchall()


def psql_command(conn: psycopg.Connection, user: str) -> str:
    """How the analyst connects: a psql line for this server and database."""
    info = conn.info
    host = info.host if info.host and not info.host.startswith("/") else "localhost"
    return f'psql "host={host} port={info.port} dbname={info.dbname} user={user}"'
