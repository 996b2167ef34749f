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
    _by_size: list[MaskRow] | None = field(default=None, repr=False, compare=False)

    def intersection(self, a: str, b: str) -> int:
        if a == b:
            return self.sizes[a]
        pair = self.intersections.get((a, b))
        return self.intersections[(b, a)] if pair is None else pair

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
        if self._by_size is None:  # ties broken by the bits: the engines return rows in different orders
            self._by_size = sorted(self.rows, key=lambda r: (-r.persons, r.bits))
        for row in self._by_size:
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
    k = len(names)
    both = _pair_counts(k, [(r.bits, r.persons) for r in rows], total)
    sizes = {names[i]: both[i][i] for i in range(k)}
    inter = {(names[i], names[j]): both[i][j] for i in range(k) for j in range(i + 1, k)}
    return OverlapMatrix(list(names), total, sizes, inter, rows)


def _pair_counts(k: int, rows: list[tuple[int, int]], total: int) -> list[list[int]]:
    """counts[i][j]: persons in segments i and j (i == j: in i), from (bits, persons) rows.

    A row adds its persons to every pair of its segments: K(K-1)/2 additions a row done one by
    one cost ~0.5 µs each, seconds for tens of thousands of combinations. Instead each segment
    keeps one integer of K slots, each wide enough for `total`; a row adds (its persons × its
    bits spread one to a slot) to the integer of each of its segments, and slot j of segment
    i's integer ends up holding |i ∩ j|."""
    w = total.bit_length() + 1
    spread = [sum(1 << (j * w) for j in range(8) if b >> j & 1) for b in range(256)]  # 8 bits at a time
    step = 8 * w
    acc = [0] * k
    for bits, n in rows:
        slots, shift, b = 0, 0, bits
        while b:
            if b & 255:
                slots |= spread[b & 255] << shift
            b >>= 8
            shift += step
        add = slots * n
        b = bits
        while b:
            low = b & -b
            acc[low.bit_length() - 1] += add
            b ^= low
    slot = (1 << w) - 1
    return [[(acc[i] >> (j * w)) & slot for j in range(k)] for i in range(k)]
