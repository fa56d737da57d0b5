"""The Redis commands a script sends, read from its source: each
``conn:command("NAME", key, ...)`` or ``conn:command_line("NAME key ...")`` call whose
command name is written out, with the source text of its key (and hash field).

>>> [(c.name, c.key, c.field) for c in redis_calls(tokenize('c:command("HGET", "h:" .. ip, f)'))]
[('HGET', '"h:" .. ip', 'f')]
"""

from __future__ import annotations

from dataclasses import dataclass

from mle.lua.analysis import Token, tokenize

__all__ = ["RedisCall", "redis_calls", "tokenize"]


@dataclass(frozen=True)
class RedisCall:
    """One call site: the command (upper case), its key and field as source text
    (None when the call does not show them), the line and the token index."""

    name: str
    key: str | None
    field: str | None
    line: int
    index: int


def _arguments(tokens: list[Token], open_paren: int) -> tuple[list[list[Token]], int]:
    """The argument token lists of the call whose ``(`` is at ``open_paren``, and the
    index of its ``)``."""
    args: list[list[Token]] = [[]]
    depth = 0
    j = open_paren
    while j < len(tokens):
        text = tokens[j].text
        if tokens[j].kind == "op" and text in "([{":
            depth += 1
            if depth == 1:
                j += 1
                continue
        elif tokens[j].kind == "op" and text in ")]}":
            depth -= 1
            if depth == 0:
                return [a for a in args if a], j
        elif text == "," and depth == 1:
            args.append([])
            j += 1
            continue
        args[-1].append(tokens[j])
        j += 1
    return [a for a in args if a], j


_NO_SPACE_BEFORE = frozenset((".", ":", "(", ")", "[", "]", ","))
_NO_SPACE_AFTER = frozenset((".", ":", "(", "["))


def _text(tokens: list[Token]) -> str:
    """Source text of an expression, spaced as people write it (``"k:" .. msg.src_ip``)."""
    out = []
    for k, token in enumerate(tokens):
        if k and token.text not in _NO_SPACE_BEFORE and tokens[k - 1].text not in _NO_SPACE_AFTER:
            out.append(" ")
        out.append(token.text)
    return "".join(out)


def _literal(token: Token) -> str | None:
    if token.kind != "string" or token.text.startswith("["):
        return None
    return token.text[1:-1]


def _from_command(args: list[list[Token]]) -> tuple[str, str | None, str | None] | None:
    if not args or len(args[0]) != 1 or _literal(args[0][0]) is None:
        return None
    name = str(_literal(args[0][0]))
    return name.upper(), _text(args[1]) if len(args) > 1 else None, _text(args[2]) if len(args) > 2 else None


def _from_command_line(args: list[list[Token]]) -> tuple[str, str | None, str | None] | None:
    """``"NAME key" .. x .. " " .. value``: the words of the line, as far as the source shows them."""
    if len(args) != 1 or _literal(args[0][0]) is None:
        return None
    name, _, rest = str(_literal(args[0][0])).partition(" ")
    if " " in rest:  # the key (and field) are written out in the literal
        words = [f'"{word}"' for word in rest.split(" ") if word]
        return name.upper(), words[0] if words else None, words[1] if len(words) > 1 else None
    parts = [f'"{rest}"'] if rest else []
    for token in args[0][1:]:  # the key goes on until a literal with a space
        literal = _literal(token)
        if literal is not None and " " in literal:
            break
        if token.text != "..":
            parts.append(token.text)
    return name.upper(), " .. ".join(parts) if parts else None, None


def redis_calls(tokens: list[Token]) -> list[RedisCall]:
    """Every call site of ``:command``/``:command_line`` whose command name is a literal."""
    calls = []
    for i, token in enumerate(tokens):
        if (token.kind != "name" or token.text not in ("command", "command_line") or i == 0
                or tokens[i - 1].text != ":" or i + 1 >= len(tokens) or tokens[i + 1].text != "("):
            continue
        args, _ = _arguments(tokens, i + 1)
        parsed = _from_command(args) if token.text == "command" else _from_command_line(args)
        if parsed is not None:
            calls.append(RedisCall(parsed[0], parsed[1], parsed[2], token.line, i))
    return calls
