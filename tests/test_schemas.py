"""The JSON Schema files in segc/schemas/ (for editors): current, and in agreement with the
loader on the contract's examples and on bad files."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from language_examples import REPO, classify, write_examples_project, yaml_examples
from segc.schemas import SCHEMA_DIR, rendered

GOLDEN = Path(__file__).parent / "golden" / "diagnostics"
SCHEMA_OF = {"project": "segc-project.schema.json", "target": "segc-target.schema.json"}  # else: spec


@functools.lru_cache(maxsize=None)
def validator(kind: str) -> jsonschema.Draft202012Validator:
    name = SCHEMA_OF.get(kind, "segc-spec.schema.json")
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def kind_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    if rel.as_posix() == "segc.yml":
        return "project"
    return "target" if rel.parts[0] == "targets" else "spec"


def project_files(root: Path) -> list[Path]:
    files = [root / "segc.yml"] if (root / "segc.yml").is_file() else []
    for folder in ("specs", "targets"):
        files += sorted(p for p in (root / folder).rglob("*") if p.suffix in (".yml", ".yaml"))
    return files


@pytest.mark.parametrize("name", sorted(rendered()))
def test_committed_schemas_are_current(name):
    """If this fails, run `python -m segc.schemas` and commit the result."""
    path = SCHEMA_DIR / name
    assert path.is_file(), f"{path} is missing: run python -m segc.schemas"
    assert path.read_text(encoding="utf-8") == rendered()[name]


def test_no_stray_schema_files():
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(rendered())


@pytest.mark.parametrize("i", range(len(yaml_examples())))
def test_language_yaml_examples_validate(i):
    body = yaml_examples()[i]
    validator(classify(body)).validate(yaml.safe_load(body))


def test_examples_project_validates(tmp_path):
    """The whole examples project (with the §3 expressions as segments and the stubs)."""
    write_examples_project(tmp_path)
    files = project_files(tmp_path)
    assert len(files) > 10
    for path in files:
        validator(kind_of(path, tmp_path)).validate(yaml.safe_load(path.read_text(encoding="utf-8")))


ROOT_FILES = [(root, p) for root in (REPO, GOLDEN / "_base") for p in project_files(root)]


@pytest.mark.parametrize("root, path", ROOT_FILES, ids=[str(p.relative_to(REPO)) for _, p in ROOT_FILES])
def test_repo_project_files_validate(root, path):
    """The repo root's own project (segc.yml, specs/, targets/ when present) and the golden base."""
    validator(kind_of(path, root)).validate(yaml.safe_load(path.read_text(encoding="utf-8")))


# Files the loader rejects for their shape; the schema must reject them too.
BAD = [
    "yaml_unknown_key/specs/bad.yml",
    "yaml_wrong_value_type/specs/bad.yml",
    "yaml_missing_required_key/specs/bad.yml",
    "yaml_bad_enum_with_hint/specs/bad.yml",
    "yaml_top_level_list/specs/bad.yml",
    "project_missing_kind/specs/bad.yml",
    "yaml_bad_property_type/segc.yml",
    "yaml_config_missing_model/segc.yml",
]


@pytest.mark.parametrize("rel", BAD)
def test_bad_files_are_rejected(rel):
    path = GOLDEN / rel
    kind = "project" if path.name == "segc.yml" else "spec"
    with pytest.raises(jsonschema.ValidationError):
        validator(kind).validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "kind, text",
    [
        ("target", "dialect: sqlite\npath: x.db\n"),
        ("target", "dialect: duckdb\npath: x.db\nthreads: 0\n"),
        ("spec", "segment: 9lives\nwhere: age > 9\n"),
        ("spec", "partition: p\nsegments: [only_one]\n"),
        ("spec", "insight: i\nkind: pie\nseries: {a: count(x)}\n"),
        ("project", "name: shop\nmodel: {persons: {table: p, key: id}, events: {table: e, person: p, event: e, timestamp: t}}\noverlap: {max_jaccard: 2}\n"),
    ],
)
def test_more_bad_values_are_rejected(kind, text):
    with pytest.raises(jsonschema.ValidationError):
        validator(kind).validate(yaml.safe_load(text))
