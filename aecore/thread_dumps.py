"""``kill -USR1 <pid>`` writes the stack of every thread of the process to its standard error.

The dashboard's server and its worker processes register it as they start, so a server that seems stuck (a run
left "Stopping after this step", a page that never arrives) can be read while it is stuck: its log then holds
what each thread was doing. The browser tests send it to their server when one fails (tests/conftest.py). Not on
Windows, which has no SIGUSR1.
"""

from __future__ import annotations

import faulthandler
import signal


def dump_threads_on_sigusr1() -> bool:
    """Register the dump for SIGUSR1 in this process; False where the platform has no SIGUSR1."""
    sigusr1 = getattr(signal, "SIGUSR1", None)  # Windows has neither the signal nor faulthandler.register
    if sigusr1 is None:
        return False
    faulthandler.register(sigusr1, all_threads=True)
    return True
