"""JSON Schema files for editors (segc.yml, targets/*.yml, definition files), generated from
the loader's shapes (segc.loader.shapes) and shipped with the package.
Regenerate with `python -m segc.schemas`; a test checks the committed files are current."""
from __future__ import annotations

import json
from pathlib import Path

SCHEMA_DIR = Path(__file__).parent


def rendered() -> dict[str, str]:
    """File name -> the text each schema file should hold."""
    from ..loader.shapes import json_schemas

    return {name: json.dumps(schema, indent=2, ensure_ascii=False) + "\n" for name, schema in json_schemas().items()}


def write(folder: str | Path = SCHEMA_DIR) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in rendered().items():
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    return paths
