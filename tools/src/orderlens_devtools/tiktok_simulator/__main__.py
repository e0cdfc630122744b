"""`python -m orderlens_devtools.tiktok_simulator`: the same as `orderlens tiktok-simulator`."""

from __future__ import annotations

import sys

from orderlens_devtools.cli import main

if __name__ == "__main__":
    sys.exit(main(["tiktok-simulator", *sys.argv[1:]]))
