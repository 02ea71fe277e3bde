"""Checks across a whole instrument, after each question has been read on its own.

Unique names, DigComp competence ids, every expression (syntax, unknown references with a
near-miss suggestion, type errors that can be seen without answers, choice codes that do not exist)
and cycles among calculations. Returns problems; the loader raises them together.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from surveys import scoring_spec
from surveys.errors import Code, Problem, suggest
from surveys.expressions import ExpressionError, Node, parse
from surveys.messages import Message
from surveys.questions import kind
from surveys.schema import COMPETENCES, Instrument, Question

ARITHMETIC = frozenset({"+", "-", "*", "div", "mod", "neg"})
COMPARISONS = frozenset({"=", "!="})
#: columns stored or derived with every response in the analysis table and the exports (the ward's
#: own question is ``ward``, which fills ``ward_code``)
RESERVED_NAMES = frozenset({"id", "response_id", "survey_version", "ward_code", "channel", "language",
                            "submitted_at", "submitted_month", "stratum", "psu", "weight", "base_weight",
                            "age_band", "area_type", "former_district"})


def walk_questions(instrument: Instrument) -> Iterator[tuple[str, Question]]:
    """(YAML path, question) for every question, grid item and repeat field."""
    for i, page in enumerate(instrument.pages):
        for j, q in enumerate(page.questions):
            where = f"pages[{i}].questions[{j}]"
            yield where, q
            field = "items" if q.type == "grid" else "questions"
            for k, item in enumerate(q.items):
                yield f"{where}.{field}[{k}]", item


def validate(instrument: Instrument, file: str) -> list[Problem]:
    checker = _Checker(instrument, file)
    checker.run()
    return checker.problems


class _Checker:
    def __init__(self, instrument: Instrument, file: str):
        self.instrument = instrument
        self.file = file
        self.problems: list[Problem] = []
        self.by_name: dict[str, Question] = {}
        self.calc_refs: dict[str, set[str]] = {}

    def add(self, code: Code, where: str, field: str = "", value: object = "", detail: object = "") -> None:
        self.problems.append(Problem(code, self.file, where, field, str(value)[:200], detail))  # type: ignore[arg-type]

    def run(self) -> None:
        self.names()
        for i, page in enumerate(self.instrument.pages):
            if page.relevant:
                self.expression(page.relevant, f"pages[{i}]", "relevant", None)
        for where, q in walk_questions(self.instrument):
            self.question(q, where)
        self.cycles()
        for detail in scoring_spec.problems(self.instrument):
            self.add(Code.BAD_SCORING, "scoring", "scoring", detail=detail)

    def names(self) -> None:
        pages: set[str] = set()
        for i, page in enumerate(self.instrument.pages):
            if page.name in pages:
                self.add(Code.DUPLICATE_NAME, f"pages[{i}]", "name", page.name)
            pages.add(page.name)
        for where, q in walk_questions(self.instrument):
            if q.name in self.by_name:
                self.add(Code.DUPLICATE_NAME, where, "name", q.name)
            for name in sorted({q.name, *(v.name for v in q.variables)} & RESERVED_NAMES):
                self.add(Code.RESERVED_NAME, where, "name", name)
            self.by_name.setdefault(q.name, q)

    def question(self, q: Question, where: str) -> None:
        if q.competence is not None and q.competence not in COMPETENCES:
            self.add(Code.BAD_COMPETENCE, where, "competence", q.competence)
        if q.relevant:
            self.expression(q.relevant, where, "relevant", q)
        if q.constraint:
            self.expression(q.constraint, where, "constraint", q)
        if q.calculation:
            tree = self.expression(q.calculation, where, "calculation", q)
            if tree is not None and q.type == "calculate":
                self.calc_refs[q.name] = {n.value for n in tree.walk() if n.kind == "ref"}
        choice_filter = q.extra.get("choice_filter")
        if choice_filter:
            columns = frozenset(k for c in q.choices for k in c.filters)
            self.expression(str(choice_filter), where, "choice_filter", q, columns)

    def expression(
        self, src: str, where: str, field: str, owner: Question | None, columns: frozenset[str] = frozenset()
    ) -> Node | None:
        try:
            tree = parse(src, columns)
        except ExpressionError as exc:
            self.add(Code.BAD_EXPRESSION, where, field, src, exc.message)
            return None
        for node in tree.walk():
            if node.kind == "ref" and node.value not in self.by_name:
                self.add(Code.UNKNOWN_REFERENCE, where, field, node.value, suggest(node.value, set(self.by_name)))
            elif node.kind == "cur" and field in ("relevant", "calculation"):
                self.add(Code.BAD_EXPRESSION, where, field, src, Message("instrument.why.dot_only_in_constraint"))
            elif node.kind in ("op", "fn"):
                self.types(node, where, field, owner)
        return tree

    def types(self, node: Node, where: str, field: str, owner: Question | None) -> None:
        args = node.args
        if node.kind == "fn" and node.value in ("selected", "count-selected"):
            target = self.target(args[0], owner)
            if target is not None and not kind(target.type).compares_codes:
                self.mismatch(where, field, "needs_choice_question", function=node.value, name=target.name,
                              type=target.type)
            elif target is not None and node.value == "selected":
                self.codes(target, args[1], where, field)
        elif node.kind == "op" and node.value in ARITHMETIC:
            for arg in args:
                target = self.target(arg, owner)
                if target is not None and not kind(target.type).arithmetic:
                    self.mismatch(where, field, "not_a_number", name=target.name, type=target.type)
        elif node.kind == "op" and node.value in COMPARISONS:
            for a, b in ((args[0], args[1]), (args[1], args[0])):
                target = self.target(a, owner)
                if target is not None and kind(target.type).compares_codes and not kind(target.type).many_codes:
                    self.codes(target, b, where, field)

    def target(self, node: Node, owner: Question | None) -> Question | None:
        if node.kind == "ref":
            return self.by_name.get(node.value)
        if node.kind == "cur":
            return owner
        return None

    def codes(self, target: Question, literal: Node, where: str, field: str) -> None:
        if literal.kind == "str" and literal.value != "" and target.choices and literal.value not in {c.code for c in target.choices}:
            self.add(Code.UNKNOWN_CHOICE_CODE, where, field, literal.value, target.name)

    def mismatch(self, where: str, field: str, why: str, **params: Any) -> None:
        self.add(Code.TYPE_MISMATCH, where, field, detail=Message(f"instrument.why.{why}", params))

    def cycles(self) -> None:
        """Peel off calculations whose inputs are settled (Kahn); what is left lies on or after a cycle."""
        deps = {name: {r for r in refs if r in self.calc_refs} for name, refs in self.calc_refs.items()}
        settled: set[str] = set()
        changed = True
        while changed:
            ready = [n for n, d in deps.items() if n not in settled and d <= settled]
            settled.update(ready)
            changed = bool(ready)
        left = {n: d - settled for n, d in deps.items() if n not in settled}
        reported: set[str] = set()
        for start in sorted(left):
            if start in reported:
                continue
            path, name = [start], start
            while True:
                name = sorted(left[name])[0]
                if name in path:
                    loop = path[path.index(name):] + [name]
                    break
                path.append(name)
            if not reported & set(loop):
                self.add(Code.CYCLE, self.where_of(loop[0]), "calculation", " -> ".join(loop))
            reported.update(path)

    def where_of(self, name: str) -> str:
        return next((w for w, q in walk_questions(self.instrument) if q.name == name), "")
