"""The parsed form of an expression (:class:`Node`) and the error every stage raises.

Kept apart from the parser (:mod:`surveys.expressions`) and the evaluator
(:mod:`surveys.evaluator`) so that both import it and neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from surveys.messages import Message

__all__ = ["ExpressionError", "Node"]


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated; ``message`` says why, as a code with parameters
    (``expression.*``; the web layer has the sentences)."""

    def __init__(self, code: str, **params: Any):
        self.message = Message(f"expression.{code}", params)
        super().__init__(str(self.message))


@dataclass(frozen=True)
class Node:
    """One node of a parsed expression.

    ``kind`` is ``num`` (value: float), ``str`` (value: str), ``ref`` (value: question name),
    ``cur`` (``.``, the answer being checked), ``col`` (value: a choice column, in a
    ``choice_filter``), ``op`` (value: operator, args: operands; ``neg`` is
    unary minus) or ``fn`` (value: function name, args: arguments).
    """

    kind: str
    value: Any = None
    args: tuple[Node, ...] = ()
    depth: int = field(default=1, compare=False, repr=False)
    #: the tree compiled into a Python function, made at its first evaluation (:func:`surveys.evaluator.compiled`)
    compiled: Any = field(default=None, init=False, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.value is not None:
            out["value"] = self.value
        if self.args:
            out["args"] = [a.to_json() for a in self.args]
        return out

    def walk(self):
        """This node and every node below it."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.args)
