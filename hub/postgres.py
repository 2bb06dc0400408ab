"""The course's PostgreSQL cluster: one data folder, owned by the ``postgres`` user, on 127.0.0.1 only.

``initdb`` refuses to run as root, so every server command runs as ``postgres``
(``runuser``). Local connections over the cluster's own socket folder use peer
authentication (the ``postgres`` user only); TCP connections need a password
(scram-sha-256), because every user of the machine can reach 127.0.0.1.
"""
from __future__ import annotations

import glob
import secrets
import shutil
import subprocess
from pathlib import Path

__all__ = ["Cluster", "RUNUSER"]

RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"  # util-linux: run a command as another user


def _server_bin() -> Path:
    """The newest installed server's bin folder (Debian keeps it out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL's server is not installed: apt-get install postgresql")
    return Path(found[-1]).parent


class Cluster:
    """A PostgreSQL cluster in ``folder`` (data, socket and log), listening on 127.0.0.1:``port``."""

    def __init__(self, folder: Path | str, port: int = 5433):
        if not isinstance(port, int) or not 1024 <= port <= 65535:
            raise ValueError(f"port must be an integer in 1024..65535; got {port!r}")
        self.folder = Path(folder)
        self.port = port
        self.data = self.folder / "data"
        self.socket = self.folder / "run"
        self.log = self.folder / "postgres.log"

    def _as_postgres(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        result = subprocess.run([RUNUSER, "-u", "postgres", "--", *command], capture_output=True, text=True,
                                timeout=kwargs.pop("timeout", 120), cwd="/", **kwargs)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed (exit {result.returncode}): "
                               f"{(result.stderr or result.stdout).strip()[-800:]}")
        return result

    @property
    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    @property
    def running(self) -> bool:
        return subprocess.run([RUNUSER, "-u", "postgres", "--", str(_server_bin() / "pg_ctl"), "status", "-D",
                               str(self.data)], capture_output=True, cwd="/").returncode == 0

    def init(self) -> None:
        """Make the cluster once (its folders mode 0700, owned by postgres)."""
        if self.initialized:
            return
        for folder in (self.folder, self.socket):
            folder.mkdir(parents=True, exist_ok=True)
            shutil.chown(folder, "postgres", "postgres")
            folder.chmod(0o700)
        self._as_postgres(str(_server_bin() / "initdb"), "-D", str(self.data), "-U", "postgres", "--encoding=UTF8",
                          "--auth-local=peer", "--auth-host=scram-sha-256", timeout=300)

    def start(self) -> None:
        if self.running:
            return
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket}"
        self._as_postgres(str(_server_bin() / "pg_ctl"), "start", "-w", "-D", str(self.data), "-l", str(self.log),
                          "-o", options, timeout=120)

    def stop(self) -> None:
        """Stop the server (a fast shutdown: open sessions are ended, every commit is kept)."""
        if self.initialized and self.running:
            self._as_postgres(str(_server_bin() / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data))

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser; return psql's unaligned output."""
        return self._as_postgres(str(_server_bin() / "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket),
                                 "-p", str(self.port), "-d", database, "-tA", "-c", sql).stdout.strip()

    def ensure_database(self, name: str, password: str) -> str:
        """A database ``name`` owned by a login role of the same name; return its SQLAlchemy URL."""
        if not name.isidentifier():
            raise ValueError(f"name must be a plain identifier; got {name!r}")
        if not self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'"):
            self.psql(f"CREATE ROLE {name} LOGIN")
        self.psql(f"ALTER ROLE {name} PASSWORD '{password}'")
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            self.psql(f"CREATE DATABASE {name} OWNER {name}")
        return self.url(name, password)

    def url(self, name: str, password: str) -> str:
        return f"postgresql+psycopg2://{name}:{password}@127.0.0.1:{self.port}/{name}"

    def dump(self, database: str, target: Path | str) -> Path:
        """``pg_dump`` of ``database`` in PostgreSQL's custom format, written to ``target``."""
        target = Path(target).resolve()
        dumped = subprocess.run([RUNUSER, "-u", "postgres", "--", str(_server_bin() / "pg_dump"), "-Fc",
                                 "-h", str(self.socket), "-p", str(self.port), database],
                                capture_output=True, timeout=600, cwd="/")
        if dumped.returncode != 0:
            raise RuntimeError(f"pg_dump failed: {dumped.stderr.decode(errors='replace').strip()[-800:]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(dumped.stdout)
        return target

    def restore(self, database: str, source: Path | str, password: str | None = None) -> str:
        """Restore a dump made by :meth:`dump` into a new, empty ``database``; return its URL."""
        source = Path(source)
        if not source.is_file():
            raise ValueError(f"source must be a dump file; got {str(source)!r}")
        url = self.ensure_database(database, password or secrets.token_urlsafe(24))
        with source.open("rb") as dump:
            restored = subprocess.run([RUNUSER, "-u", "postgres", "--", str(_server_bin() / "pg_restore"),
                                       "--no-owner", f"--role={database}", "-h", str(self.socket),
                                       "-p", str(self.port), "-d", database], stdin=dump, capture_output=True,
                                      timeout=600, cwd="/")
        if restored.returncode != 0:
            raise RuntimeError(f"pg_restore failed: {restored.stderr.decode(errors='replace').strip()[-800:]}")
        return url

