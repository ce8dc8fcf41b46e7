"""A local Bolt server (ArcadeDB embedded) for users without Neo4j, and for the tests.

ArcadeDB runs in a JVM that does not let its Python process exit cleanly
once started, and a test must be able to kill the server in the middle of a
write.  So the server always runs in its own process:

- :func:`serve` runs it in the current process until interrupted
  (``graphcrm db serve``; the process ends with ``os._exit``);
- :func:`start_server` launches ``python -m graphcrm.loaders.bolt_server`` as a child
  process, waits until the Bolt port accepts connections and returns a
  :class:`BoltServer` handle (``stop`` / ``kill`` / ``restart``).

The data directory survives a restart, so a killed server comes back with
what it had committed.  ArcadeDB is an optional dependency
(``pip install 'graphcrm[db]'``).

Examples
--------
>>> free_port() > 0
True
>>> BoltServer.__name__
'BoltServer'
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from graphcrm.loaders.errors import ParameterError, StoreUnavailableError

#: user name of the ArcadeDB server (its administrator account)
DEFAULT_USER = "root"
#: database created on start
DEFAULT_DATABASE = "graphcrm"
#: environment variable holding the server's root password for the child process
PASSWORD_ENV = "GRAPHCRM_NEO4J_PASSWORD"
_BOLT_PLUGIN = "Bolt:com.arcadedb.bolt.BoltProtocolPlugin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def serve(root: Path, password: str, *, bolt_port: int = 7687, http_port: int | None = None,
          database: str = DEFAULT_DATABASE, ready_file: Path | None = None) -> None:
    """Run ArcadeDB with its Bolt plugin in this process until SIGTERM / Ctrl-C.

    Parameters
    ----------
    root : Path
        Server root directory (databases, config); created if missing and
        reused on the next start.
    password : str
        Root password (at least 8 characters, ArcadeDB's rule).
    bolt_port, http_port : int
        Ports on 127.0.0.1; ``http_port`` defaults to a free port.
    database : str
        Database created if it does not exist yet.
    ready_file : Path, optional
        Written (``bolt_port``) once the server accepts connections.
    """
    if len(password) < 8:
        raise ParameterError("the server password must have at least 8 characters")
    try:
        from arcadedb_embedded.server import ArcadeDBServer
    except ImportError:
        raise ParameterError("the local Bolt server needs ArcadeDB: pip install 'graphcrm[db]'") from None
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.chdir(root)  # ArcadeDB writes its log/ directory into the working directory
    server = ArcadeDBServer(root_path=str(root), root_password=password,
                            config={"server_plugins": _BOLT_PLUGIN, "bolt_port": bolt_port,
                                    "http_port": http_port or free_port()})
    server.start()
    if not (root / "databases" / database).exists():
        server.create_database(database)
    if ready_file is not None:
        ready_file.write_text(str(bolt_port))

    def stop(*_):
        server.stop()
        os._exit(0)  # the JVM keeps non-daemon threads: leave without waiting for them

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stop()


@dataclass
class BoltServer:
    """A local Bolt server running in a child process (see :func:`start_server`)."""

    root: Path
    password: str
    bolt_port: int
    database: str = DEFAULT_DATABASE
    user: str = DEFAULT_USER
    log: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 120.0) -> "BoltServer":
        """Launch the child process and wait until Bolt accepts connections."""
        ready = self.root / "ready"
        ready.unlink(missing_ok=True)
        env = dict(os.environ, **{PASSWORD_ENV: self.password})
        self.log = self.root / "server.log"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "graphcrm.loaders.bolt_server", str(self.root / "data"), str(self.bolt_port),
                 self.database, str(ready)], env=env, stdout=log, stderr=subprocess.STDOUT)
        atexit.register(self.kill)  # never leave a JVM behind if the parent ends without stop()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise StoreUnavailableError(f"the local Bolt server exited during start-up (log {self.log}): {tail}")
            if ready.exists() and _port_open(self.bolt_port):
                return self
            time.sleep(0.1)
        self.kill()
        raise StoreUnavailableError(f"the local Bolt server did not start within {timeout:.0f} s (log {self.log})")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server cleanly (SIGTERM), killing it if it does not end in time."""
        if not self.running:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> "BoltServer":
        """Stop (if running) and start again on the same port and data directory."""
        self.stop()
        return self.start()


def start_server(root: Path, password: str, *, bolt_port: int | None = None,
                 database: str = DEFAULT_DATABASE) -> BoltServer:
    """Start a local Bolt server in a child process and wait until it is ready.

    Parameters
    ----------
    root : Path
        Directory for the server's data and log (kept across restarts).
    password : str
        Password of user ``root`` (passed to the child through its environment).
    bolt_port : int, optional
        Default: a free port.
    database : str
        Database to create.

    Returns
    -------
    BoltServer
        ``.uri``, ``.user``, ``.password``, ``.database``; ``stop()`` when done.
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return BoltServer(root, password, bolt_port or free_port(), database).start()


def _child_main(argv: list[str]) -> None:
    data, port, database, ready = argv
    serve(Path(data).resolve(), os.environ[PASSWORD_ENV], bolt_port=int(port), database=database,
          ready_file=Path(ready).resolve())


if __name__ == "__main__":
    _child_main(sys.argv[1:])
