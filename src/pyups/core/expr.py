"""Rule conditions: ``OB and battery.charge < 50``, compiled once, evaluated after every poll.

Theory of operation
-------------------
lark parses the text (LALR, contextual lexer) into a parse tree, which :func:`_build` turns
into a small tree of frozen nodes; :func:`_truth` walks it. Nothing is ever ``eval``-ed. The
parser is built the first time a condition is compiled: a configuration without one never
loads lark.

* UPPERCASE words are status flags (``OB``, ``LB``, ``TEST``…): true when ``ups.status`` has
  them. ``nocomm`` is true while the UPS does not answer.
* lowercase dotted names are NUT variables. A name is one token up to the next character
  that cannot be part of a name, so ``battery.charge`` and ``battery.charge.low`` are two
  variables, never an attribute of one another.
* ``and or not`` are keywords only as whole words: ``android`` or ``notes.x`` are variables.
* A comparison with a variable the UPS does not report is false, whatever the operator.
  Values are strings; when both sides look like decimal numbers they compare as numbers,
  otherwise as text. A variable alone is true when reported, not blank and not zero.
* Precedence, loosest first: ``or``, ``and``, ``not``, comparison (``not a < b`` is
  ``not (a < b)``); comparisons do not chain, and flags, ``nocomm`` and conditions cannot be
  compared: those are errors when compiling, with the 1-based position of the culprit.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from lark import Lark, Token, Tree
    from lark.exceptions import UnexpectedInput

_END_OF_NAME = r"(?![A-Za-z0-9_.])"
_GRAMMAR = rf"""
?start: disj
?disj: conj (_OR conj)*
?conj: neg (_AND neg)*
?neg: _NOT neg -> not_
    | comp
?comp: atom (COMPOP atom)?
?atom: FLAG | NOCOMM | NAME | NUMBER | STRING | "(" disj ")"
_OR.2: /or{_END_OF_NAME}/
_AND.2: /and{_END_OF_NAME}/
_NOT.2: /not{_END_OF_NAME}/
NOCOMM.2: /nocomm{_END_OF_NAME}/
COMPOP: "==" | "!=" | "<=" | ">=" | "<" | ">"
NAME: /(?!(?:and|or|not|nocomm){_END_OF_NAME})[a-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*/
FLAG: /[A-Z][A-Za-z0-9_]*/
NUMBER: /-?\d+(?:\.\d+)?/
STRING: /"(?:\\.|[^"\\])*"/ | /'(?:\\.|[^'\\])*'/
%ignore /\s+/
"""


@functools.cache
def _parser() -> Lark:
    """The condition parser, built on first use (lark and the grammar cost ~3 MiB and 0.1 s)."""
    from pyups.lean import import_without

    lark = import_without("lark", "_hashlib")  # lark's cache digests: not OpenSSL's (lean.py)
    parser: Lark = lark.Lark(_GRAMMAR, parser="lalr", lexer="contextual")
    return parser


_OPERANDS = {"FLAG", "NOCOMM", "NAME", "NUMBER", "STRING", "LPAR", "_NOT"}
_CHAR_HINTS = {"=": "write == to compare", "&": "write and", "|": "write or", "!": "write not"}
# ASCII blanks only: float() refuses the Unicode ones (\x1c-\x1f) that ``\s`` would allow.
_NUMBER = re.compile(
    r"^[ \t\n\r\f\v]*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?[ \t\n\r\f\v]*$", re.ASCII
)
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Facts:
    """What a condition sees of one UPS: status flags, variables (as upsd sent them), nocomm."""

    flags: frozenset[str]
    vars: Mapping[str, str]
    nocomm: bool = False


class ExpressionError(ValueError):
    """A condition that cannot be compiled; ``position`` is 1-based (the column), if known."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, slots=True)
class Flag:
    name: str


@dataclass(frozen=True, slots=True)
class NoComm:
    pass


@dataclass(frozen=True, slots=True)
class Var:
    name: str


@dataclass(frozen=True, slots=True)
class Literal:
    text: str
    number: float | None


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Var | Literal
    right: Var | Literal


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Node = Flag | NoComm | Var | Compare | Not | And | Or


@dataclass(frozen=True)
class Expression:
    """A compiled condition; equal when the text is equal."""

    text: str
    variables: frozenset[str]  # NUT variable names used
    flags: frozenset[str]  # status flag names used
    root: Node = field(repr=False, compare=False)

    def evaluate(self, facts: Facts) -> bool:
        return _truth(self.root, facts)


def compile_expression(text: str) -> Expression:
    """Parse and check ``text``; raises ExpressionError saying what is wrong and where."""
    if not text.strip():
        raise ExpressionError("the condition is empty; write e.g. OB and battery.charge < 50")
    parser = _parser()  # first: it loads lark
    from lark.exceptions import UnexpectedInput

    try:
        tree = parser.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except RecursionError:
        raise ExpressionError(
            f"the condition is nested more than {_MAX_DEPTH} levels deep"
        ) from None
    root = _condition(tree, 0)  # first: it refuses deep nesting before anything recurses
    found = [tree] if isinstance(tree, str) else tree.scan_values(_is_token)
    tokens = cast("list[Token]", list(found))
    return Expression(
        text,
        frozenset(str(t) for t in tokens if t.type == "NAME"),
        frozenset(str(t) for t in tokens if t.type == "FLAG"),
        root,
    )


def _is_token(value: object) -> bool:
    return isinstance(value, str)  # lark's Token is a str; a Tree is not


def _syntax_error(text: str, exc: UnexpectedInput) -> ExpressionError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    if isinstance(exc, UnexpectedCharacters):
        index = exc.pos_in_stream or 0
        position = index + 1
        char = text[index : index + 1]
        if char in "\"'":
            return ExpressionError(f"unterminated string at position {position}", position)
        hint = _CHAR_HINTS.get(char)
        suffix = f" ({hint})" if hint else ""
        return ExpressionError(f"unexpected {char!r} at position {position}{suffix}", position)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        position = _at(exc.token)
        what = repr(str(exc.token))
        chained = exc.token.type == "COMPOP" and not exc.expected & _OPERANDS
        suffix = "; comparisons do not chain, join them with and" if chained else ""
        return ExpressionError(f"unexpected {what} at position {position}{suffix}", position)
    position = len(text) + 1
    return ExpressionError(f"unexpected end of expression at position {position}", position)


def _condition(branch: Tree[Token] | Token, depth: int) -> Node:
    """A node in a true/false position: anything but a lone number or string."""
    if depth > _MAX_DEPTH:
        raise ExpressionError(f"the condition is nested more than {_MAX_DEPTH} levels deep")
    if isinstance(branch, str):
        if branch.type == "FLAG":
            return Flag(_flag_name(branch))
        if branch.type == "NOCOMM":
            return NoComm()
        if branch.type == "NAME":
            return Var(str(branch))
        raise ExpressionError(
            f"{branch!s} at position {_at(branch)} is a value, not a condition; "
            "compare it, e.g. battery.charge < 50",
            _at(branch),
        )
    kids = branch.children
    if branch.data == "not_":
        return Not(_condition(kids[0], depth + 1))
    if branch.data == "conj":
        return And(tuple(_condition(kid, depth + 1) for kid in kids))
    if branch.data == "disj":
        return Or(tuple(_condition(kid, depth + 1) for kid in kids))
    left, op, right = kids
    assert isinstance(op, str)
    return Compare(str(op), _operand(left, op), _operand(right, op))


def _operand(branch: Tree[Token] | Token, op: Token) -> Var | Literal:
    """One side of a comparison: a variable or a value, never a flag or a condition."""
    if isinstance(branch, str):
        if branch.type == "NAME":
            return Var(str(branch))
        if branch.type == "NUMBER":
            return Literal(str(branch), float(branch))
        if branch.type == "STRING":
            text = re.sub(r"\\(.)", r"\1", str(branch)[1:-1], flags=re.DOTALL)
            return Literal(text, _number(text))
        if branch.type == "FLAG":
            name = _flag_name(branch)
            raise ExpressionError(
                f"cannot compare a status flag ({name}) at position {_at(branch)}: "
                f"it is true or false; write {name} or not {name}",
                _at(branch),
            )
        raise ExpressionError(
            f"cannot compare nocomm at position {_at(branch)}: it is true or false; "
            "write nocomm or not nocomm",
            _at(branch),
        )
    raise ExpressionError(
        f"cannot compare a condition with {op!s} at position {_at(op)}: "
        "compare variables, numbers and strings, and join conditions with and/or",
        _at(op),
    )


def _flag_name(token: Token) -> str:
    name = str(token)
    if name != name.upper():
        raise ExpressionError(
            f"{name} at position {_at(token)} is neither a status flag (upper case, e.g. OB) "
            "nor a variable (lower case, e.g. battery.charge)",
            _at(token),
        )
    return name


def _at(token: Token) -> int:
    """The 1-based position of a token in the whole text (a column, for one-line text)."""
    return (token.start_pos or 0) + 1


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.match(text) else None


def _truth(node: Node, facts: Facts) -> bool:
    match node:
        case Flag(name):
            return name in facts.flags
        case NoComm():
            return facts.nocomm
        case Var(name):
            value = facts.vars.get(name)
            return value is not None and value.strip() != "" and _number(value) != 0
        case Not(operand):
            return not _truth(operand, facts)
        case And(operands):
            return all(_truth(item, facts) for item in operands)
        case Or(operands):
            return any(_truth(item, facts) for item in operands)
        case Compare(op, left, right):
            return _compare(op, _value(left, facts), _value(right, facts))
    raise AssertionError(node)  # pragma: no cover


def _value(operand: Var | Literal, facts: Facts) -> Literal | None:
    if isinstance(operand, Literal):
        return operand
    raw = facts.vars.get(operand.name)
    return None if raw is None else Literal(raw, _number(raw))


def _compare(op: str, left: Literal | None, right: Literal | None) -> bool:
    if left is None or right is None:
        return False
    if left.number is not None and right.number is not None:
        return bool(_OPS[op](left.number, right.number))
    return bool(_OPS[op](left.text, right.text))
