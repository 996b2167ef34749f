"""The examples of docs/LANGUAGE.md (the contract), read out of the markdown, not copied:
the yaml code blocks (segc.yml of §1, the target, every definition) and the expression block
of §3. Shared by tests/test_language_examples.py and tests/test_schemas.py."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
LANGUAGE = REPO / "docs" / "LANGUAGE.md"
STUBS = ("churned", "engaged", "new", "activated", "at_risk", "paid")

FENCE = re.compile(r"^```(?P<lang>[A-Za-z]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


def code_blocks(markdown: str) -> list[tuple[str, str, str]]:
    """(language, body, the section `## N. …` it stands in) for every fenced block."""
    out = []
    for m in FENCE.finditer(markdown):
        heading = (re.findall(r"^## .*$", markdown[: m.start()], re.M) or [""])[-1]
        out.append((m["lang"], m["body"], heading))
    return out


def yaml_examples() -> list[str]:
    return [body for lang, body, _ in code_blocks(LANGUAGE.read_text(encoding="utf-8")) if lang == "yaml"]


def expression_examples() -> list[str]:
    """Lines of the untagged block in §3 (expressions, `--` comments kept: they are language)."""
    blocks = [body for lang, body, heading in code_blocks(LANGUAGE.read_text(encoding="utf-8")) if lang == "" and heading.startswith("## 3.")]
    assert len(blocks) == 1, "LANGUAGE.md §3 should hold one block of example expressions"
    return [line for line in blocks[0].splitlines() if line.strip()]


def classify(body: str) -> str:
    doc = yaml.safe_load(body)
    if "model" in doc:
        return "project"
    if "dialect" in doc:
        return "target"
    return next(k for k in doc if k in ("segment", "partition", "cohort", "insight"))  # the first key names the kind


def write_examples_project(root: Path) -> dict[str, str]:
    """The examples as a project; returns definition name -> where it came from."""
    (root / "specs").mkdir(parents=True)
    (root / "targets").mkdir()
    origin: dict[str, str] = {}
    for i, body in enumerate(yaml_examples()):
        kind = classify(body)
        if kind == "project":
            (root / "segc.yml").write_text(body, encoding="utf-8")
        elif kind == "target":
            m = re.search(r"#\s*targets/(\w+)\.yml", body)
            (root / "targets" / f"{m[1] if m else 'local'}.yml").write_text(body, encoding="utf-8")
        else:
            name = yaml.safe_load(body)[kind]
            (root / "specs" / f"{name}.yml").write_text(body, encoding="utf-8")
            origin[name] = f"yaml block {i + 1} ({kind})"
    for i, expr in enumerate(expression_examples()):
        name = f"expression_{i + 1}"
        indented = "\n".join("  " + line for line in expr.splitlines())
        (root / "specs" / f"{name}.yml").write_text(f"segment: {name}\nwhere: |\n{indented}\n", encoding="utf-8")
        origin[name] = f"§3 expression: {expr.strip()}"
    for name in STUBS:
        if name not in origin:
            (root / "specs" / f"{name}.yml").write_text(f"segment: {name}\nwhere: true\n", encoding="utf-8")
    return origin
