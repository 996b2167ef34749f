"""`segc check`: the expectations of `expect:` blocks and partitions, judged on one overlap
matrix (one pass over the events table)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import ir
from ..diagnostics import Span
from .overlap import OverlapMatrix


@dataclass(frozen=True)
class Outcome:
    rule: str  # min_size | max_size | min_share | max_share | disjoint_with | subset_of | partition | complete | max_jaccard
    subject: str  # the segment or partition the rule belongs to
    passed: bool
    message: str
    span: Span | None
    counts: dict = field(default_factory=dict)
    examples: tuple = ()

    def as_dict(self) -> dict:
        d = {"rule": self.rule, "subject": self.subject, "passed": self.passed, "message": self.message,
             "counts": self.counts, "examples": list(self.examples)}
        if self.span:
            d.update(path=self.span.path, line=self.span.line, col=self.span.col)
        return d


def segments_to_evaluate(definitions: dict[str, ir.Definition]) -> list[str]:
    """Every segment named by an expect: block or a partition, in a stable order."""
    names: dict[str, None] = {}
    for d in definitions.values():
        if isinstance(d, ir.Segment) and d.expect is not None:
            names[d.name] = None
            for other in d.expect.disjoint_with + d.expect.subset_of:
                names[other] = None
        elif isinstance(d, ir.Partition):
            for s in d.segments:
                names[s] = None
    return [n for n in names if isinstance(definitions.get(n), ir.Segment)]


def judge(definitions: dict[str, ir.Definition], m: OverlapMatrix, max_jaccard: float | None) -> list[Outcome]:
    out: list[Outcome] = []
    for d in definitions.values():
        if isinstance(d, ir.Segment) and d.expect is not None:
            out += _expect(d, m)
        elif isinstance(d, ir.Partition):
            out += _partition(d, m)
    if max_jaccard is not None:
        out += _redundant(definitions, m, max_jaccard)
    return out


def _fmt_share(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2%}"


def _expect(s: ir.Segment, m: OverlapMatrix) -> list[Outcome]:
    e = s.expect
    size, total, share = m.sizes[s.name], m.total, m.share(s.name)
    out = []
    bit = m.bit(s.name)

    def members():
        return m.examples(lambda b: b & bit)

    def add(rule, passed, message, counts, examples=None):
        # example keys only for a failure: finding them scans the combinations
        keys = tuple(examples()) if examples and not passed else ()
        out.append(Outcome(rule, s.name, passed, message, e.spans.get(rule, s.span), counts, keys))

    if e.min_size is not None:
        ok = size >= e.min_size
        add("min_size", ok, f"{s.name} has {size:,} members; expected at least {e.min_size:,}", {"size": size, "min_size": e.min_size}, members)
    if e.max_size is not None:
        ok = size <= e.max_size
        add("max_size", ok, f"{s.name} has {size:,} members; expected at most {e.max_size:,}", {"size": size, "max_size": e.max_size}, members)
    if e.min_share is not None:
        ok = share is not None and share >= e.min_share
        add("min_share", ok, f"{s.name} holds {_fmt_share(share)} of {total:,} persons; expected at least {e.min_share:.2%}",
            {"size": size, "persons": total, "share": share, "min_share": e.min_share}, members)
    if e.max_share is not None:
        ok = share is None or share <= e.max_share
        add("max_share", ok, f"{s.name} holds {_fmt_share(share)} of {total:,} persons; expected at most {e.max_share:.2%}",
            {"size": size, "persons": total, "share": share, "max_share": e.max_share}, members)
    for other in e.disjoint_with:
        if other not in m.sizes:
            continue
        both = m.intersection(s.name, other)
        ob = m.bit(other)
        add("disjoint_with", both == 0, f"{s.name} and {other} share {both:,} members; expected none",
            {"intersection": both, s.name: size, other: m.sizes[other]}, lambda: m.examples(lambda b: b & bit and b & ob))
    for other in e.subset_of:
        if other not in m.sizes:
            continue
        outside = size - m.intersection(s.name, other)
        ob = m.bit(other)
        add("subset_of", outside == 0, f"{outside:,} of {s.name}'s {size:,} members are not in {other}; expected all to be",
            {"outside": outside, s.name: size, other: m.sizes[other]}, lambda: m.examples(lambda b: b & bit and not b & ob))
    return out


def _partition(p: ir.Partition, m: OverlapMatrix) -> list[Outcome]:
    out = []
    names = [n for n in p.segments if n in m.sizes]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = m.intersection(a, b)
            if both:
                ab, bb = m.bit(a), m.bit(b)
                out.append(Outcome("partition", p.name, False, f"partition {p.name}: {a} and {b} share {both:,} members",
                                   p.span, {"intersection": both, a: m.sizes[a], b: m.sizes[b]},
                                   tuple(m.examples(lambda x: x & ab and x & bb))))
    if not out:
        out.append(Outcome("partition", p.name, True, f"partition {p.name}: no two of {len(names)} segments overlap", p.span,
                           {n: m.sizes[n] for n in names}))
    if p.complete:
        mask = 0
        for n in names:
            mask |= m.bit(n)
        none = sum(r.persons for r in m.rows if not r.bits & mask)
        out.append(Outcome("complete", p.name, none == 0,
                           f"partition {p.name}: {none:,} of {m.total:,} persons are in none of its segments" if none
                           else f"partition {p.name}: every one of {m.total:,} persons is in one of its segments",
                           p.span, {"in_none": none, "persons": m.total}, tuple(m.examples(lambda x: not x & mask)) if none else ()))
    return out


def _redundant(definitions, m: OverlapMatrix, limit: float) -> list[Outcome]:
    out = []
    for (a, b), both in m.intersections.items():
        j = m.jaccard(a, b)
        if j is not None and j > limit and both:
            span = definitions[a].span if a in definitions else None
            ab, bb = m.bit(a), m.bit(b)
            out.append(Outcome("max_jaccard", f"{a}, {b}", False,
                               f"{a} and {b} are redundant: Jaccard {j:.3f} > overlap.max_jaccard {limit}",
                               span, {"intersection": both, a: m.sizes[a], b: m.sizes[b], "jaccard": j},
                               tuple(m.examples(lambda x: x & ab and x & bb))))
    return out
