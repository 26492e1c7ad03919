"""A primary and its synchronous streaming replica, both throwaway, for failover (what Patroni does).

The primary is a ThrowawayPostgres; the standby is made from it with ``pg_basebackup -R`` (its
``primary_conninfo`` written for it) and started on a port of its own. Only then is the standby made
synchronous on the primary (``synchronous_standby_names = '*'``, ``synchronous_commit = on``), so that
a commit the primary acknowledges has reached the standby's disk. ``fail_over()`` stops the primary
as a crash would and promotes the standby; the standby was never told to wait for a standby of its
own, so it takes writes at once. The service reaches them as one server with a URL naming both hosts
and ``target_session_attrs=read-write``: libpq connects to whichever of them takes writes.
"""

from __future__ import annotations

import time

from faults.postgres import ThrowawayPostgres


class Standby(ThrowawayPostgres):
    """A streaming replica of ``primary`` (``with Standby(primary) as standby``)."""

    def __init__(self, primary: ThrowawayPostgres):
        super().__init__()
        self.primary = primary

    def __enter__(self) -> Standby:
        try:
            self._run(
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.primary.port),
                "-U",
                "postgres",
                "-D",
                str(self.data),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            )
            with open(self.data / "postgresql.conf", "a") as conf:
                conf.write(
                    f"\n# the standby\nport = {self.port}\nunix_socket_directories = '{self.root}'\n"
                    "synchronous_standby_names = ''\n"
                )
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def promote(self) -> float:
        """``pg_ctl promote``, waiting until it takes writes; returns the seconds it took."""
        started = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "promote")
        return time.monotonic() - started


class ReplicatedPostgres:
    """``with ReplicatedPostgres() as pair: pair.url``: a primary and a synchronous standby."""

    def __init__(self) -> None:
        self.primary = ThrowawayPostgres()
        self.standby: Standby | None = None

    @property
    def url(self) -> str:
        """Both hosts, the one that takes writes chosen by libpq."""
        assert self.standby is not None
        return (
            f"postgresql://postgres@127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}/postgres"
            "?target_session_attrs=read-write"
        )

    def __enter__(self) -> ReplicatedPostgres:
        self.primary.__enter__()
        try:
            self.standby = Standby(self.primary).__enter__()
            self._sql(self.primary, "ALTER SYSTEM SET synchronous_standby_names = '*'")
            self._sql(self.primary, "ALTER SYSTEM SET synchronous_commit = 'on'")
            self._sql(self.primary, "SELECT pg_reload_conf()")
            self.wait_synchronous()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _sql(self, server: ThrowawayPostgres, statement: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []

    def wait_synchronous(self, timeout: float = 60) -> None:
        """Until the primary reports its standby as synchronous (commits wait for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ("sync",) in self._sql(self.primary, "SELECT sync_state FROM pg_stat_replication"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the standby did not become synchronous within {timeout:.0f} s")

    def fail_over(self) -> float:
        """The primary stopped as by a crash (``pg_ctl stop -m immediate``), the standby promoted;
        returns the seconds until the standby took writes."""
        assert self.standby is not None
        started = time.monotonic()
        self.primary._run("pg_ctl", "-D", str(self.primary.data), "-m", "immediate", "-w", "stop")
        self.standby.promote()
        return time.monotonic() - started

    def __exit__(self, *_exc: object) -> None:
        if self.standby is not None:
            self.standby.__exit__()
        self.primary.__exit__()
