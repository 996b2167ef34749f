"""Overlap matrix from membership masks: sizes, pairwise intersections, Jaccard, containment.

The engine returns one row per distinct combination of memberships (a bitmask per person,
grouped); every figure here is derived from those rows in Python, so K segments cost one
query however many pairs there are."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..compiler.builder import MASK_BITS


@dataclass(frozen=True)
class MaskRow:
    bits: int  # bit i set: member of names[i]
    persons: int
    examples: tuple  # a few member keys with exactly this combination


@dataclass
class OverlapMatrix:
    names: list[str]
    total: int  # persons in the universe
    sizes: dict[str, int]
    intersections: dict[tuple[str, str], int]  # (a, b) with a before b in `names`
    rows: list[MaskRow] = field(default_factory=list, repr=False)

    def intersection(self, a: str, b: str) -> int:
        if a == b:
            return self.sizes[a]
        i, j = self.names.index(a), self.names.index(b)
        return self.intersections[(a, b) if i < j else (b, a)]

    def union(self, a: str, b: str) -> int:
        return self.sizes[a] + self.sizes[b] - self.intersection(a, b)

    def jaccard(self, a: str, b: str) -> float | None:
        u = self.union(a, b)
        return self.intersection(a, b) / u if u else None

    def containment(self, a: str, b: str) -> float | None:
        """Share of a's members that are also in b."""
        return self.intersection(a, b) / self.sizes[a] if self.sizes[a] else None

    def share(self, a: str) -> float | None:
        return self.sizes[a] / self.total if self.total else None

    def examples(self, test, limit: int = 5) -> list:
        """Member keys from the combinations that satisfy `test(bits)`."""
        out: list = []
        for row in sorted(self.rows, key=lambda r: -r.persons):
            if test(row.bits):
                for k in row.examples:
                    if k is not None and k not in out:
                        out.append(k)
            if len(out) >= limit:
                break
        return sorted(out, key=str)[:limit]

    def bit(self, name: str) -> int:
        return 1 << self.names.index(name)

    def as_dict(self) -> dict:
        pairs = []
        for (a, b), n in self.intersections.items():
            pairs.append({
                "a": a, "b": b, "intersection": n, "jaccard": self.jaccard(a, b),
                "containment_a_in_b": self.containment(a, b), "containment_b_in_a": self.containment(b, a),
            })
        return {
            "persons": self.total,
            "segments": [{"name": n, "size": self.sizes[n], "share": self.share(n)} for n in self.names],
            "pairs": pairs,
        }


def from_mask_rows(names: list[str], raw_rows: list[tuple]) -> OverlapMatrix:
    """Rows of (mask0, [mask1 …], count, min_key, max_key) -> the matrix."""
    n_masks = (len(names) + MASK_BITS - 1) // MASK_BITS
    rows = []
    for r in raw_rows:
        bits = 0
        for k in range(n_masks):
            bits |= int(r[k] or 0) << (k * MASK_BITS)
        rows.append(MaskRow(bits, int(r[n_masks]), tuple(dict.fromkeys(r[n_masks + 1:n_masks + 3]))))
    total = sum(r.persons for r in rows)
    sizes = {n: 0 for n in names}
    inter = {(a, b): 0 for i, a in enumerate(names) for b in names[i + 1:]}
    for r in rows:
        members = [i for i in range(len(names)) if r.bits >> i & 1]
        for i in members:
            sizes[names[i]] += r.persons
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                inter[(names[i], names[j])] += r.persons
    return OverlapMatrix(list(names), total, sizes, inter, rows)
