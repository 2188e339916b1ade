"""Store fixtures: every store test runs against embedded SQLite AND a real PostgreSQL server.

The PostgreSQL cluster is a throwaway one: initdb into a temporary folder, pg_ctl start on a free
loopback port (as the ``postgres`` user when the tests run as root, since the server refuses
root), one fresh database per test, stopped at the end of the session. Skips cleanly when the
Debian binaries (/usr/lib/postgresql/*/bin) are absent.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from chainbreaker.store import Store


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


class PgCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.owner = "postgres" if os.geteuid() == 0 else None
        self.dir = Path(tempfile.mkdtemp(prefix="cb-pg-"))
        self.port = _free_port()
        self._names = itertools.count(1)
        if self.owner:
            shutil.chown(self.dir, self.owner)
        data, log = self.dir / "data", self.dir / "server.log"
        self._run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        opts = f"-p {self.port} -h 127.0.0.1 -k {self.dir} -c fsync=off"
        self._run([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "start"])
        self.data = data

    def _run(self, cmd: list[str]) -> None:
        subprocess.run(_as_owner(cmd, self.owner), check=True, capture_output=True, timeout=120)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        import psycopg

        name = f"cb_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg not installed")
    cluster = PgCluster(bindir)
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store location: an SQLite file, or a new database on the throwaway cluster."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.fresh_database()


@pytest.fixture
def store(store_target: str) -> Iterator[Store]:
    handle = Store(store_target)
    yield handle
    handle.close()
