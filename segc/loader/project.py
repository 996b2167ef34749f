"""Project folder -> located spec: segc.yml (the model), targets/*.yml and every definition
under specs/, each value with its file:line:col, shape-checked. The only front-end I/O."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..diagnostics import Diagnostic, SegcError, SourceCache, Span
from . import shapes
from .located import Y, YamlProblem, load_located, text_digest

CONFIG_FILE = "segc.yml"
KIND_KEYS = tuple(shapes.KINDS)


@dataclass(frozen=True)
class Entity:
    """A table of the model: persons or events, with its declared, typed properties."""

    table: str
    properties: dict[str, str]
    properties_json: str | None
    span: Span
    property_spans: dict[str, Span] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class PersonsModel(Entity):
    key: str = "person_id"


@dataclass(frozen=True)
class EventsModel(Entity):
    person: str = "person_id"
    event: str = "event"
    timestamp: str = "timestamp"
    names: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Model:
    persons: PersonsModel
    events: EventsModel


@dataclass
class Definition:
    """One definition file: its kind, name and located body (not yet parsed)."""

    kind: str  # segment | partition | cohort | insight
    name: str
    path: str
    body: Y
    name_span: Span
    ok: bool = True  # shape-checked without errors


@dataclass
class TestFile:
    """A file of unit tests under tests/: `test: NAME` names the definition its cases test."""

    definition: str
    path: str
    body: Y
    name_span: Span
    ok: bool = True  # shape-checked without errors


@dataclass
class Target:
    name: str
    path: str
    body: Y

    @property
    def dialect(self) -> str:
        return self.body.value["dialect"].value


@dataclass
class Project:
    root: Path
    name: str
    model: Model | None
    max_jaccard: float
    default_target: str | None
    default_target_span: Span | None
    targets: dict[str, Target]
    definitions: list[Definition]
    diagnostics: list[Diagnostic]
    sources: SourceCache
    test_files: list[TestFile] = field(default_factory=list)

    def definition(self, name: str) -> Definition | None:
        return next((d for d in self.definitions if d.name == name), None)


def display_path(path: Path) -> str:
    """Paths in diagnostics: relative to the working directory when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _read(path: Path, sources: SourceCache, diags: list[Diagnostic], raw: bytes | None = None) -> Y | None:
    """`raw`: the file's bytes when the caller has read them already."""
    shown = display_path(path)
    if raw is None:
        try:
            raw = path.read_bytes()
        except OSError as e:
            diags.append(Diagnostic("SEG100", f"cannot read file: {e.strerror}", Span(shown, 1, 1)))
            return None
    if len(raw) > shapes_limit():
        diags.append(Diagnostic("SEG109", f"file is larger than {shapes_limit() // (1024 * 1024)} MiB", Span(shown, 1, 1)))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        # lines as the text is shown (a lone \r ends a line, a BOM is no character); columns in characters
        before = raw[: e.start].decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        line = before.count("\n") + 1
        col = len(before) - before.rfind("\n")
        sources.texts[shown] = raw.decode("utf-8", "replace").replace("\r\n", "\n")
        diags.append(
            Diagnostic("SEG100", f"file is not valid UTF-8 (byte 0x{raw[e.start]:02x})", Span(shown, line, col), hint="save the file as UTF-8")
        )
        return None
    text = source_text(text)
    sources.texts[shown] = text
    try:
        y = load_located(shown, text)
    except YamlProblem as p:
        diags.append(p.diag)
        return None
    if y.kind != "map":
        diags.append(Diagnostic("SEG105", "expected a mapping of keys to values at the top of the file", y.span))
        return None
    return y


def source_text(text: str) -> str:
    """A file's text as positions count it: no BOM, every line ending a \\n."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def shapes_limit() -> int:
    from .located import MAX_FILE_BYTES

    return MAX_FILE_BYTES


def _entity(y: Y, cls, extra: dict) -> Entity:
    props_y = y.get("properties")
    props = {k: v.value for k, v in props_y.items()} if props_y is not None else {}
    spans = dict(props_y.key_spans) if props_y is not None else {}
    pj = y.get("properties_json")
    return cls(
        table=y.value["table"].value,
        properties=props,
        properties_json=pj.value if pj is not None else None,
        span=y.span,
        property_spans=spans,
        **extra,
    )


def _model(y: Y) -> Model:
    p, e = y.value["persons"], y.value["events"]
    names = e.get("names")
    return Model(
        persons=_entity(p, PersonsModel, {"key": p.value["key"].value}),
        events=_entity(
            e,
            EventsModel,
            {
                "person": e.value["person"].value,
                "event": e.value["event"].value,
                "timestamp": e.value["timestamp"].value,
                "names": tuple(v.value for v in names.value) if names is not None else None,
            },
        ),
    )


def spec_files(root: Path, folders: list[str]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        base = root / folder
        if base.is_dir():
            files += [p for p in base.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()]
    return sorted(set(files))


# A YAML file under a tests folder is a segc test file when a line starts with `test:`; other
# YAML files there are left alone, so the folder can be shared with other tools' tests.
_TEST_KEY = re.compile(rb"^test[ \t]*:", re.M)


def test_files(root: Path, folders: list[str]) -> list[Path]:
    out = []
    for p in spec_files(root, folders):
        try:
            head = p.read_bytes()
        except OSError:
            continue
        if _TEST_KEY.search(head):
            out.append(p)
    return out


@dataclass
class LoadedSpec:
    """What reading one definition file gave: its text (for showing diagnostics), its
    diagnostics, and the definition unless the file is broken."""

    texts: dict[str, str]
    diagnostics: list[Diagnostic]
    definition: Definition | None


def spec_bytes(path: Path) -> bytes | None:
    """A definition file's bytes, or None when it cannot be read (load_spec says why)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def spec_digest(raw: bytes | None) -> str | None:
    """The digest (SourceText.digest) of the text load_spec makes of these bytes; None for
    bytes it cannot read as text."""
    if raw is None:
        return None
    try:
        return text_digest(source_text(raw.decode("utf-8")))
    except UnicodeDecodeError:
        return None


def load_spec(path: Path, raw: bytes | None = None) -> LoadedSpec:
    """Read and shape-check one definition file (`raw`: its bytes, when already read)."""
    sources = SourceCache()
    diags: list[Diagnostic] = []
    y = _read(path, sources, diags, raw)
    d = _definition(y, y.source.path, diags) if y is not None else None  # the path _read showed
    return LoadedSpec(sources.texts, diags, d)


def load_project(root: str | Path = ".", load_specs=None) -> Project:
    """Load and shape-check a project. Errors are collected in `project.diagnostics`;
    only a missing project folder or segc.yml raises. `load_specs(paths)`: a list of
    LoadedSpec for the definition files, in their order (default: load_spec on each in turn;
    segc.parallel splits them between two processes)."""
    root = Path(root)
    sources = SourceCache()
    diags: list[Diagnostic] = []
    cfg_path = root / CONFIG_FILE
    if not root.is_dir():
        raise SegcError(Diagnostic("SEG110", f"project folder '{root}' does not exist", None))
    if not cfg_path.is_file():
        raise SegcError(
            Diagnostic("SEG110", f"no {CONFIG_FILE} in '{display_path(root.resolve())}': not a segc project folder", None)
        )
    cfg = _read(cfg_path, sources, diags)
    model = None
    name = root.resolve().name
    max_jaccard = 0.8
    default_target = None
    default_target_span = None
    folders = ["specs"]
    tests_folders = ["tests"]
    if cfg is not None and shapes.PROJECT.check(cfg, diags):
        model = _model(cfg.value["model"])
        name = cfg.value["name"].value
        ov = cfg.get("overlap")
        if ov is not None and ov.get("max_jaccard") is not None:
            max_jaccard = float(ov.value["max_jaccard"].value)
        dt = cfg.get("default_target")
        if dt is not None:
            default_target, default_target_span = dt.value, dt.span
        sp = cfg.get("specs")
        if sp is not None:
            folders = [v.value for v in sp.value] if sp.kind == "seq" else [sp.value]
        tf = cfg.get("tests")
        if tf is not None:
            tests_folders = [v.value for v in tf.value] if tf.kind == "seq" else [tf.value]
        _check_model(model, cfg, diags)

    targets: dict[str, Target] = {}
    tdir = root / "targets"
    if tdir.is_dir():
        for p in sorted(x for x in tdir.iterdir() if x.suffix in (".yml", ".yaml")):
            y = _read(p, sources, diags)
            if y is not None and shapes.TARGET.check(y, diags) and _check_target(y, diags):
                targets[p.stem] = Target(p.stem, display_path(p), y)
    if default_target is not None and targets and default_target not in targets and tdir.is_dir():
        from ..diagnostics import did_you_mean

        hint = did_you_mean(default_target, targets)
        diags.append(
            Diagnostic("SEG107", f"default_target '{default_target}' has no file targets/{default_target}.yml" + (f"; {hint}" if hint else ""), default_target_span)
        )

    definitions: list[Definition] = []
    seen: dict[str, Definition] = {}
    paths = spec_files(root, folders)
    for loaded in (load_specs(paths) if load_specs is not None else map(load_spec, paths)):
        sources.texts.update(loaded.texts)
        diags.extend(loaded.diagnostics)
        d = loaded.definition
        if d is None:
            continue
        if d.name in seen:
            first = seen[d.name]
            diags.append(
                Diagnostic(
                    "SEG111",
                    f"'{d.name}' is already defined as a {first.kind} in {first.path}:{first.name_span.line}",
                    d.name_span,
                )
            )
            continue
        seen[d.name] = d
        definitions.append(d)
    tests: list[TestFile] = []
    for p in test_files(root, tests_folders):
        y = _read(p, sources, diags)
        if y is None:
            continue
        ok = shapes.TEST_FILE.check(y, diags)
        name_y = y.get("test")
        if name_y is not None and name_y.kind == "scalar" and isinstance(name_y.value, str):
            tests.append(TestFile(name_y.value, y.source.path, y, name_y.span, ok))
    return Project(root, name, model, max_jaccard, default_target, default_target_span, targets, definitions, diags, sources, tests)


def _definition(y: Y, path: str, diags: list[Diagnostic]) -> Definition | None:
    # the first kind key names the kind (cohorts and insights also have a `segment:` filter)
    kinds = [k for k in y.value if k in KIND_KEYS]
    if not kinds:
        from ..diagnostics import did_you_mean

        first = next(iter(y.key_spans), None)
        hint = did_you_mean(first, KIND_KEYS) if first else None
        diags.append(
            Diagnostic(
                "SEG112",
                "a definition starts with its kind and name: segment:, partition:, cohort: or insight:"
                + (f" ({hint})" if hint else ""),
                y.key_spans[first] if first else y.span,
            )
        )
        return None
    kind = kinds[0]
    before = len(diags)
    ok = shapes.KINDS[kind].check(y, diags)
    tests = y.get("tests")
    if not ok and tests is not None:  # a mistake in a unit test fails that test (segc test), not the definition
        ok = all(d.span is not None and _within(d.span, tests.span) for d in diags[before:])
    name_y = y.value[kind]
    if name_y.kind != "scalar" or not isinstance(name_y.value, str):
        return None
    return Definition(kind, name_y.value, path, y, name_y.span, ok)


def _within(span: Span, outer: Span) -> bool:
    return (outer.line, outer.col) <= (span.line, span.col) <= (outer.end_line, outer.end_col)


def _check_model(model: Model, cfg: Y, diags: list[Diagnostic]) -> None:
    for ent_name in ("persons", "events"):
        ent_y = cfg.value["model"].value[ent_name]
        ent = getattr(model, ent_name)
        for k, span in ent.property_spans.items():
            if not k:
                diags.append(Diagnostic("SEG113", "property names cannot be empty", span))
        if ent.properties_json is not None and ent.properties_json in ent.properties:
            diags.append(
                Diagnostic("SEG107", f"'{ent.properties_json}' is the JSON column, not a property", ent_y.value["properties_json"].span)
            )


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{([^}]*)\}?")


def _check_target(y: Y, diags: list[Diagnostic]) -> bool:
    d = y.value["dialect"].value
    need = {"duckdb": ("path",), "postgres": ("dsn",), "clickhouse": ("path", "url")}[d]
    if not any(k in y.value for k in need):
        diags.append(Diagnostic("SEG106", f"a {d} target needs '{' or '.join(need)}'", y.value["dialect"].span))
        return False
    ok = True
    for k, v in y.items():
        if v.kind == "scalar" and isinstance(v.value, str):
            for m in _VAR.finditer(v.value):
                if m.group(1) is None:
                    diags.append(Diagnostic("SEG107", f"malformed variable '{m.group(0)}': write ${{NAME}}", v.offset_span(m.start(), m.end())))
                    ok = False
    return ok


def resolve_target(project: Project, name: str | None) -> dict:
    """The target's settings with ${VAR} read from the environment. Raises SegcError."""
    from ..diagnostics import did_you_mean

    name = name or project.default_target
    if name is None:
        if len(project.targets) == 1:
            name = next(iter(project.targets))
        else:
            raise SegcError(Diagnostic("SEG107", "no target given: pass --target or set default_target in segc.yml", None))
    t = project.targets.get(name)
    if t is None:
        hint = did_you_mean(name, project.targets)
        raise SegcError(
            Diagnostic("SEG107", f"unknown target '{name}'" + (f"; {hint}" if hint else f" (targets: {', '.join(project.targets) or 'none'})"), None)
        )
    out: dict = {"name": name}
    errors = []
    for k, v in t.body.items():
        val = v.value
        if isinstance(val, str):
            def sub(m: re.Match) -> str:
                var = m.group(1)
                if var not in os.environ:
                    errors.append(
                        Diagnostic("SEG108", f"environment variable {var} is not set (needed by target '{name}')", v.offset_span(m.start(), m.end()))
                    )
                    return ""
                return os.environ[var]

            val = _VAR.sub(sub, val)
        out[k] = val
    if errors:
        raise SegcError(errors)
    if out["dialect"] in ("duckdb",) or (out["dialect"] == "clickhouse" and "path" in out):
        if "path" in out and not os.path.isabs(out["path"]):
            out["path"] = str(project.root / out["path"])
    return out
