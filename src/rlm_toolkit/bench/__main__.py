"""`python -m rlm_toolkit.bench`: the same commands as `rlm bench`."""

from __future__ import annotations

import sys

from ..cli.bench import main

if __name__ == "__main__":
    sys.exit(main())
