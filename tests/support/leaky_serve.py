"""``python tests/support/leaky_serve.py …``: ``conclave`` with a deliberately wrong log
set-up, Python's plain ``basicConfig`` instead of Conclave's filtered handler, so that
uvicorn's raw lines (full client address, port, meeting id) reach stderr. For tests
that the ``log-addresses`` compliance check sees such a server fail."""

from __future__ import annotations

import logging
import sys

from conclave import logs
from conclave.cli import main


def _unfiltered(level: str = "info", fmt: str = "json") -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr, force=True)


if __name__ == "__main__":
    logs.configure = _unfiltered
    sys.exit(main())
