"""Importers: other tools' definitions -> segc spec files (YAML text that the loader then reads
like any hand-written spec; no pipeline stage imports them)."""
