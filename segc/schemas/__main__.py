"""`python -m segc.schemas [--out DIR]`: write the JSON Schema files (default: into this package)."""
from __future__ import annotations

import argparse

from . import SCHEMA_DIR, write


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m segc.schemas", description=__doc__)
    ap.add_argument("--out", default=str(SCHEMA_DIR), help="folder to write the schemas to (default: %(default)s)")
    for path in write(ap.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
