"""Skip logic on a rendered page: which questions the server leaves out, which the browser toggles.

A question whose relevance depends only on earlier pages is decided here, on the server. One whose
relevance refers to a question on the same page is always rendered (so the page works with
JavaScript off, and the server drops the answer if it turns out irrelevant) and carries its parsed
rule in ``data-rel`` for ``static/respond.js`` to show or hide it at once. A field of a repeat's row
(a household member's questions for older people) is always rendered too, with its rule under
``<repeat>.<field>``: the browser reads it with that row's answers (``data-row``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from surveys import Page, Question, expressions


@dataclass
class PageRules:
    live: dict[str, str] = field(default_factory=dict)  #: name -> JSON tree, toggled in the browser
    omitted: set[str] = field(default_factory=set)  #: not relevant given earlier answers
    known: dict[str, Any] = field(default_factory=dict)  #: earlier answers the live rules read
    adding: str | None = None  #: the repeat that gets one more empty row

    @property
    def known_json(self) -> str:
        return json.dumps(self.known, ensure_ascii=False, separators=(",", ":"))


def _refs(tree: expressions.Node) -> set[str]:
    return {node.value for node in tree.walk() if node.kind == "ref"}


def _names_on(page: Page) -> set[str]:
    names = set()
    for q in page.questions:
        names.add(q.name)
        names.update(item.name for item in q.items)
    return names


def _relevant_items(page: Page) -> list[Question]:
    return [x for q in page.questions for x in (q, *(q.items if q.type == "grid" else ())) if x.relevant]


def page_rules(page: Page, answers: dict[str, Any]) -> PageRules:
    """The rules of ``page`` given the ``answers`` accepted so far."""
    rules = PageRules()
    on_page = _names_on(page)
    for q in _relevant_items(page):
        try:
            tree = expressions.parse(q.relevant or "")
        except expressions.ExpressionError:
            continue
        refs = _refs(tree)
        if refs & on_page:
            rules.live[q.name] = json.dumps(tree.to_json(), ensure_ascii=False, separators=(",", ":"))
            rules.known.update({r: answers[r] for r in refs - on_page if r in answers})
        else:
            try:
                shown = expressions.evaluate_bool(tree, answers)
            except expressions.ExpressionError:
                shown = False
            if not shown:
                rules.omitted.add(q.name)
    _row_rules(page, answers, rules)
    return rules


def _row_rules(page: Page, answers: dict[str, Any], rules: PageRules) -> None:
    """The rules of the repeats' fields, read in the browser with each row's own answers."""
    for q in page.questions:
        if q.type != "repeat":
            continue
        for item in q.items:
            try:
                tree = expressions.parse(item.relevant or "") if item.relevant else None
            except expressions.ExpressionError:
                continue
            if tree is not None:
                rules.live[f"{q.name}.{item.name}"] = json.dumps(tree.to_json(), ensure_ascii=False,
                                                                 separators=(",", ":"))
                rules.known.update({r: answers[r] for r in _refs(tree) if r in answers})
