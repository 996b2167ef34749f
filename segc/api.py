"""The Python API: each command of the CLI is a call here (load, validate, compile, …)."""
from __future__ import annotations

from pathlib import Path

from .checker import CheckResult, check_project
from .loader.project import load_project


def validate(project_dir: str | Path = ".") -> CheckResult:
    """Load and check a project. Raises SegcError only when there is no project to load;
    every problem in the project is in `result.diagnostics`."""
    return check_project(load_project(project_dir))
