"""The signal disposition of a command typed in a terminal, for tests that press Ctrl-C.

A command started in the background by a non-interactive shell (``cmd &``, as a CI script
may start the test suite) inherits SIGINT *ignored*, and Python then installs no
KeyboardInterrupt handler: a Ctrl-C test would test nothing. The subprocesses those tests
start get the default disposition back, as in a terminal.
"""

from __future__ import annotations

import signal


def terminal_sigint() -> None:
    """``preexec_fn`` of a subprocess that Ctrl-C should reach: SIGINT at its default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
