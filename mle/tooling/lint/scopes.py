"""Which function each token is in, and which names are local there: a walk over a
script's tokens that follows Lua's blocks (function, do, if, while, for, repeat) and
``local`` declarations, and reports every assignment to a global name.

>>> [(w.name, w.function, w.line) for w in global_writes(tokenize("x = 1\\nfunction loop(m) local y = 2; z = y end"))]
[('x', None, 1), ('loop', None, 2), ('z', 'loop', 2)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mle.lua.analysis import Token, tokenize

__all__ = ["FunctionSpan", "GlobalWrite", "function_spans", "global_writes", "tokenize"]

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


@dataclass(frozen=True)
class GlobalWrite:
    """An assignment to a global ``name`` (``name = ...`` or ``function name()``),
    inside the top-level function ``function`` (None: the file's top level)."""

    name: str
    function: str | None
    line: int


@dataclass(frozen=True)
class FunctionSpan:
    """A function defined at the top level (or assigned to a top-level name): its name
    and the token indexes of its body."""

    name: str
    start: int
    end: int


@dataclass
class _Block:
    function: str | None  # the outermost function this block is in (None: top level)
    is_function: bool = False
    locals: set[str] = field(default_factory=set)
    awaiting_do: bool = False  # a while/for header whose `do` opens this same block
    depth: int = 0  # bracket depth outside, restored when a function body ends
    start: int = 0  # token index where the block's body starts


def _matching_back(tokens: list[Token], j: int) -> int:
    """Index of the bracket opening the one closed at ``j`` (-1 if none)."""
    depth = 0
    while j >= 0:
        text = tokens[j].text
        if tokens[j].kind == "op" and text in _CLOSE:
            depth += 1
        elif tokens[j].kind == "op" and text in _OPEN:
            depth -= 1
            if depth == 0:
                return j
        j -= 1
    return -1


def assignment_targets(tokens: list[Token], eq: int) -> list[str | None]:
    """The targets of the assignment whose ``=`` is at ``eq``, read backwards: a plain
    name as its text, any other target (``t.x``, ``t[k]``) as None."""
    targets: list[str | None] = []
    j = eq - 1
    while j >= 0:
        plain = True
        while True:
            token = tokens[j]
            if token.kind == "op" and token.text in ("]", ")"):
                j = _matching_back(tokens, j) - 1
                plain = False
                continue
            if token.kind == "name":
                if j >= 1 and tokens[j - 1].text in (".", ":"):
                    j -= 2
                    plain = False
                    continue
                targets.append(token.text if plain else None)
                break
            return targets
        j -= 1
        if j >= 0 and tokens[j].text == ",":
            j -= 1
            continue
        break
    return targets


def _function_name(tokens: list[Token], i: int) -> tuple[str, int]:
    """For ``function`` at ``i``: the dotted name after it ('' if anonymous) and the
    index of the ``(`` of its parameter list."""
    j = i + 1
    parts = []
    while j < len(tokens) and tokens[j].text != "(":
        parts.append(tokens[j].text)
        j += 1
    return "".join(parts), j


def _params(tokens: list[Token], open_paren: int) -> tuple[list[str], int]:
    j = open_paren + 1
    names = []
    while j < len(tokens) and tokens[j].text != ")":
        if tokens[j].kind == "name":
            names.append(tokens[j].text)
        j += 1
    return names, j


def global_writes(tokens: list[Token]) -> list[GlobalWrite]:
    """Every assignment to a name that is not local where it happens, in order."""
    return _walk(tokens)[0]


def function_spans(tokens: list[Token]) -> list[FunctionSpan]:
    """The top-level functions, in order (nested functions are part of their outer one)."""
    return _walk(tokens)[1]


def _walk(tokens: list[Token]) -> tuple[list[GlobalWrite], list[FunctionSpan]]:
    blocks = [_Block(function=None)]
    writes: list[GlobalWrite] = []
    spans: list[FunctionSpan] = []
    depth = 0
    skip_eq: set[int] = set()

    def is_local(name: str) -> bool:
        return any(name in b.locals for b in blocks)

    def write(name: str, line: int) -> None:
        if not is_local(name):
            writes.append(GlobalWrite(name, blocks[-1].function, line))

    i = 0
    while i < len(tokens):
        token = tokens[i]
        text = token.text
        if token.kind == "keyword":
            if text == "local" and i + 1 < len(tokens) and tokens[i + 1].text != "function":
                j = i + 1
                while j < len(tokens) and (tokens[j].kind == "name" or tokens[j].text in (",", "<", ">")):
                    if tokens[j].kind == "name" and tokens[j - 1].text != "<":
                        blocks[-1].locals.add(tokens[j].text)
                    j += 1
                if j < len(tokens) and tokens[j].text == "=":
                    skip_eq.add(j)
                i = j
                continue
            if text == "function":
                name, open_paren = _function_name(tokens, i)
                is_local_function = i > 0 and tokens[i - 1].text == "local"
                if is_local_function:
                    blocks[-1].locals.add(name)
                elif name and all(c not in name for c in ".:"):
                    write(name, token.line)
                outer = blocks[-1].function
                if outer is None:
                    if name:
                        outer = name
                    elif i >= 2 and tokens[i - 1].text == "=" and tokens[i - 2].kind == "name":
                        outer = tokens[i - 2].text
                    else:
                        outer = "<anonymous function>"
                params, close = _params(tokens, open_paren)
                if ":" in name:
                    params.append("self")
                blocks.append(_Block(function=outer, is_function=True, locals=set(params), depth=depth,
                                     start=close + 1))
                depth = 0
                i = close + 1
                continue
            if text in ("if", "while", "for", "repeat"):
                block = _Block(function=blocks[-1].function, awaiting_do=text in ("while", "for"))
                blocks.append(block)
                if text == "for":
                    j = i + 1
                    while j < len(tokens) and tokens[j].text not in ("=", "in"):
                        if tokens[j].kind == "name":
                            block.locals.add(tokens[j].text)
                        j += 1
                    skip_eq.add(j)
                    i = j
                    continue
            elif text == "do":
                if blocks[-1].awaiting_do:
                    blocks[-1].awaiting_do = False
                else:
                    blocks.append(_Block(function=blocks[-1].function))
            elif text in ("else", "elseif"):
                blocks[-1].locals.clear()
            elif text in ("end", "until") and len(blocks) > 1:
                closed = blocks.pop()
                if closed.is_function:
                    depth = closed.depth
                    if blocks[-1].function is None and closed.function is not None:
                        spans.append(FunctionSpan(closed.function, closed.start, i))
        elif token.kind == "op":
            if text in _OPEN:
                depth += 1
            elif text in _CLOSE:
                depth -= 1
            elif text == "=" and depth == 0 and i not in skip_eq:
                for name in assignment_targets(tokens, i):
                    if name is not None:
                        write(name, token.line)
        i += 1
    return writes, spans
