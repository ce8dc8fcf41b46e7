"""Kill -9 a command part-way: the crash tests of appends and snapshots."""

from __future__ import annotations

import os
import signal
import subprocess
import time


def run_killed_after(args, delay: float) -> str:
    """Start ``args``, SIGKILL it after ``delay`` seconds if still running; ``"killed"`` or ``"finished"``."""
    proc = subprocess.Popen([str(a) for a in args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return "killed" if proc.returncode == -signal.SIGKILL else "finished"
