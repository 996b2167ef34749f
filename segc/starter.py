"""`segc init DIR`: a new project that validates, runs and checks at once on an embedded
DuckDB file with a small sample of the demo shop's data. Not a pipeline stage: it writes the
files a user then edits (segc.yml, targets/local.yml, specs/) and the sample data."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from pathlib import Path

from .diagnostics import Diagnostic, SegcError

DATA_FILE = "data.duckdb"

SEGC_YML = """\
# The project: the model of your data (docs/LANGUAGE.md in segc's repository says what the
# rest of the language is). This model fits the sample data in {data}; point
# targets/local.yml at your own tables, or add targets/warehouse.yml for PostgreSQL.
name: {name}
model:
  persons:                        # the entity a segment contains
    table: persons
    key: person_id
    properties:                   # name: string | number | integer | boolean | timestamp
      country: string
      city: string
      age: integer
      plan: string                # free | pro | enterprise
      email: string
      signed_up_at: timestamp
      is_employee: boolean
  events:
    table: events
    person: person_id
    event: event
    timestamp: timestamp
    # with a list of event names, a misspelt event is an error instead of an empty segment
    names: [signup, login, pageview, product_viewed, added_to_cart, checkout_started, purchase]
    properties:
      $browser: string
      $device_type: string
      $os: string
      $current_url: string
      revenue: number
      product_id: string
overlap:
  max_jaccard: 0.8                # segc check reports two segments this alike as redundant
default_target: local
"""

TARGET_YML = """\
# Embedded DuckDB: the sample data `segc init` wrote. Other targets:
#   dialect: postgres     dsn: ${{SEGC_PG_DSN}}    schema: segments
#   dialect: clickhouse   url: ${{SEGC_CH_URL}}    database: segments
dialect: duckdb
path: {data}
"""

SPECS = {
    "specs/accounts/paid.yml": """\
segment: paid
description: On a paying plan.
where: plan in ('pro', 'enterprise')
tags: [account]
expect:                           # checked against the data by `segc check`
  min_size: 1
""",
    "specs/accounts/free.yml": """\
segment: free
description: Everyone not on a paying plan, also persons with no plan recorded.
where: not segment(paid)
tags: [account]
""",
    "specs/accounts/plans.yml": """\
partition: plans                  # no person in two of these
segments: [paid, free]
complete: true                    # and every person in one of them
tags: [account]
""",
    "specs/behavioral/buyers.yml": """\
segment: buyers
description: Bought something in the last 30 days.
where: performed(purchase within 30d)
tags: [behavioral]
""",
    "specs/behavioral/big_spenders.yml": """\
segment: big_spenders
description: Spent 300 or more in the last 30 days.
where: segment(buyers) and sum(purchase.revenue within 30d) >= 300
tags: [behavioral]
expect:
  subset_of: [buyers]
""",
    "specs/lifecycle/new.yml": """\
segment: new
description: >
  Signed up in the last 14 days. The sign-up date is bounded by now() too: as of an earlier
  instant (segc history, segc migrate), a person who signs up later is not new yet.
where: (signed_up_at >= ago(14d) and signed_up_at < now()) or first_time(signup) >= ago(14d)
tags: [lifecycle]
""",
    "specs/lifecycle/active.yml": """\
segment: active
description: Not new, and did anything in the last 30 days.
where: not segment(new) and performed(any within 30d)
tags: [lifecycle]
""",
    "specs/lifecycle/dormant.yml": """\
segment: dormant
description: Neither new nor active.
where: not segment(new) and not segment(active)
tags: [lifecycle]
""",
    "specs/lifecycle/lifecycle.yml": """\
partition: lifecycle
description: Every person in exactly one stage, by construction.
segments: [new, active, dormant]
complete: true
tags: [lifecycle]
""",
}

GITIGNORE = """\
*.duckdb
*.duckdb.wal
target/
"""


def _project_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", path.resolve().name).strip("_")
    return name or "segments"


def create(directory: str | Path, persons: int = 300, seed: int = 42, now: dt.datetime | None = None) -> list[Path]:
    """Write a new project into `directory` (created; refused unless empty) and return the files
    written. The sample data is the demo shop's, moved in time so that its history ends now."""
    from . import demo_data

    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise SegcError(Diagnostic("SEG130", f"'{directory}' is a file: segc init makes a new project folder", None))
    if root.is_dir() and any(root.iterdir()):
        raise SegcError(Diagnostic("SEG130", f"'{directory}' is not empty: segc init writes a new project into a new or empty folder", None))
    if persons < 1:
        raise SegcError(Diagnostic("SEG130", "--persons must be at least 1", None))
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    # everything goes into a scratch folder beside DIR first, so a failure leaves no half project
    parent = root.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=parent))
    try:
        files = {
            "segc.yml": SEGC_YML.format(name=_project_name(root), data=DATA_FILE),
            "targets/local.yml": TARGET_YML.format(data=DATA_FILE),
            ".gitignore": GITIGNORE,
            **SPECS,
        }
        for rel, text in files.items():
            path = scratch / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        demo_data.write_duckdb(str(scratch / DATA_FILE), seed=seed, persons=persons, events_target=persons * 60)
        _move_to(scratch / DATA_FILE, now - demo_data.DEMO_AS_OF)
        written = [root / rel for rel in files] + [root / DATA_FILE]
        root.mkdir(exist_ok=True)
        for entry in scratch.iterdir():
            os.replace(entry, root / entry.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return written


def _move_to(path: Path, shift: dt.timedelta) -> None:
    """Shift every timestamp of the sample so that the demo's reference instant becomes now."""
    import duckdb

    seconds = int(shift.total_seconds())
    con = duckdb.connect(str(path))
    try:
        con.execute(f'UPDATE events SET "timestamp" = "timestamp" + to_seconds({seconds})')
        con.execute(f"UPDATE persons SET signed_up_at = signed_up_at + to_seconds({seconds})")
        con.execute("CHECKPOINT")
    finally:
        con.close()
