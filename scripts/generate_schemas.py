"""Write one JSON Schema per event type into docs/schemas/ (run: make schemas)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from orderlens.events import json_schemas

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "docs" / "schemas"


def render() -> dict[str, str]:
    return {
        name: json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for name, schema in json_schemas().items()
    }


def main() -> int:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (SCHEMA_DIR / name).write_text(text)
        print(f"wrote docs/schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
