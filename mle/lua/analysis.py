"""Static analysis of a script's source: may its events run ahead of each other?

A script whose events must run one at a time (``serial = "analyzer"``, Dragonfly's
order, or ``sequential = true``) would need one Redis round trip per event. Many
scripts send exactly one command per event, e.g. Dragonfly's hello-world::

    function loop(msg)
      local reply = conn:command_line("INCR count:" .. msg.event_type)
      msg.event_count = reply
      dragonfly.analyze_event(default_analyzer, msg)
    end

For such a script the next event may run up to its own command while the previous
one waits for its reply: both commands go to Redis in one round trip, in event
order, so every reply is the one a one-at-a-time run gives. What moves is only the
next event's code *before* its command (the prefix), which now runs before the
previous event's code *after* its command (the suffix). That is unobservable when
the two parts share no state: :func:`runs_ahead_safely` proves it from the source,
conservatively (any doubt says no):

- ``loop`` is defined once at the top level, and the file uses none of the ways to
  reach code or state the analysis cannot follow (``require``, ``load``, ``_G``,
  ``rawset``, ``setmetatable``, ``debug``, ``coroutine``, ``goto``, ...);
- outside ``setup``, exactly one Redis call site (``:command``/``:command_line``)
  exists, directly in ``loop``'s body (not inside a ``for``/``while``/``repeat`` or a
  nested function), so an event sends at most one command;
- ``loop`` calls only library functions (``string``, ``math``, ``table``, ``os``,
  ``dragonfly``, ``mle``, ``cjson``, ``tostring``, ...), never the script's own
  functions or methods of shared objects (whose bodies could touch anything);
- no variable outside ``loop`` (global or upvalue) that the suffix writes is
  read or written by the prefix, nor the other way round; a table reached
  through such a variable counts as that variable;
- outputs (``analyze_event``, ``output_event``, ``log_event``, ``print``, ...) come
  from only one of the two parts, so their order is kept.

At run time the kernel also refuses to run an event ahead when it is the same table
as one already waiting (a script sent one table twice), and a second command in one
event, which the analysis excludes, is an error for that event and ends running
ahead for the script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<longcomment>--\[(?P<lceq>=*)\[.*?\](?P=lceq)\])
  | (?P<comment>--[^\n]*)
  | (?P<longstring>\[(?P<lseq>=*)\[.*?\](?P=lseq)\])
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<number>0[xX][0-9a-fA-F.]+(?:[pP][+-]?\d+)?|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.\.|\.\.|==|~=|<=|>=|::|//|<<|>>|[-+*/%^#&~|<>=(){}\[\];:,.])
    """,
    re.VERBOSE | re.DOTALL,
)

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


KEYWORDS = _words("""
    and break do else elseif end false for function goto if in local nil not or repeat return then
    true until while
""")
#: names that reach code or state the analysis cannot follow
OPAQUE = _words("""
    require load loadstring dofile loadfile setfenv getfenv _G _ENV rawset rawget setmetatable
    getmetatable debug goto coroutine module package
""")
#: library tables and functions a loop may call: no hidden script code, no shared state
LIBRARY = _words("""
    string table math os dragonfly mle cjson cjson_safe marshal bit utf8 hiredis tostring tonumber
    type pairs ipairs next select unpack assert error print rawequal rawlen
""")
#: library calls whose order is visible (outputs, logs, timers)
EFFECTS = _words("""
    dragonfly.analyze_event dragonfly.output_event dragonfly.forward_event dragonfly.log_event
    dragonfly.stats_event dragonfly.timer_event dragonfly.echo print
""")
#: library calls that change their first argument or hidden state
MUTATORS = frozenset(["table.insert", "table.remove", "table.sort", "math.random", "math.randomseed"])
REDIS_CALLS = frozenset(("command", "command_line"))
_EFFECT_STATE = "<outputs>"
_RANDOM_STATE = "<random>"


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "keyword", "string", "number", "op"
    text: str
    line: int = field(default=0, compare=False)  # where it starts (1-based), for messages


@dataclass(frozen=True)
class Verdict:
    """Whether a script's events may run ahead, and why not."""

    ok: bool
    reason: str


def tokenize(source: str) -> list[Token]:
    """Lua tokens (comments and white space dropped). Raises ValueError on text that is
    not Lua."""
    tokens: list[Token] = []
    pos = 0
    line = 1
    if source.startswith("#"):  # a shebang line
        pos = source.find("\n") + 1 or len(source)
        line = 2
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise ValueError(f"unexpected character {source[pos]!r} at offset {pos}")
        pos = match.end()
        kind = match.lastgroup
        text = match.group(0)
        if kind in ("space", "comment", "longcomment"):
            line += text.count("\n")
            continue
        if kind == "name" and text in KEYWORDS:
            kind = "keyword"
        elif kind == "longstring":
            kind = "string"
        tokens.append(Token(kind, text, line))  # type: ignore[arg-type]
        line += text.count("\n")
    return tokens


def _string_value(token: Token) -> str | None:
    if token.kind != "string":
        return None
    text = token.text
    if text.startswith("["):
        return text[text.index("[", 1) + 1 : text.rindex("]", 0, -1)]
    return text[1:-1]


@dataclass
class _Function:
    name: str
    start: int  # index of the first token of the body (after the parameter list)
    end: int  # index of the closing `end`
    params: list[str]


def _top_level_functions(tokens: list[Token]) -> list[_Function] | None:
    """``function NAME(...) ... end`` and ``NAME = function(...) ... end`` at depth 0;
    None when the blocks do not balance."""
    found: list[_Function] = []
    depth = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        text = token.text
        if depth == 0 and token.kind == "keyword" and text == "function" and i + 1 < len(tokens):
            name_tokens = []
            j = i + 1
            while j < len(tokens) and tokens[j].text != "(":
                name_tokens.append(tokens[j].text)
                j += 1
            start = _function_body(tokens, j, "".join(name_tokens), found)
            if start is None:
                return None
            i = found[-1].end + 1
            continue
        if (depth == 0 and token.kind == "name" and i + 2 < len(tokens) and tokens[i + 1].text == "="
                and tokens[i + 2].text == "function" and (i == 0 or tokens[i - 1].text not in (".", ":", ","))):
            if _function_body(tokens, i + 3, text, found) is None:
                return None
            i = found[-1].end + 1
            continue
        if token.kind == "keyword":
            if text in ("function", "if", "do", "repeat"):
                depth += 1
            elif text in ("end", "until"):
                depth -= 1
                if depth < 0:
                    return None
        i += 1
    return found if depth == 0 else None


def _function_body(tokens: list[Token], open_paren: int, name: str, found: list[_Function]) -> int | None:
    if open_paren >= len(tokens) or tokens[open_paren].text != "(":
        return None
    close = open_paren
    params = []
    while close < len(tokens) and tokens[close].text != ")":
        if tokens[close].kind == "name":
            params.append(tokens[close].text)
        close += 1
    depth = 1
    i = close + 1
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "keyword":
            if token.text in ("function", "if", "do", "repeat"):
                depth += 1
            elif token.text in ("end", "until"):
                depth -= 1
                if depth == 0:
                    found.append(_Function(name, close + 1, i, params))
                    return close + 1
        i += 1
    return None


def _is_field(tokens: list[Token], i: int) -> bool:
    """Token i is a field name (``a.NAME``, ``a:NAME``) or a table-constructor key (``{NAME = ...}``)."""
    if i > 0 and tokens[i - 1].text in (".", ":"):
        return True
    return (i + 1 < len(tokens) and tokens[i + 1].text == "=" and i > 0 and tokens[i - 1].text in ("{", ",", ";")
            and _inside_braces(tokens, i))


def _inside_braces(tokens: list[Token], i: int) -> bool:
    depth = 0
    for j in range(i - 1, -1, -1):
        text = tokens[j].text
        if text in (")", "]", "}"):
            depth += 1
        elif text in ("(", "["):
            if depth == 0:
                return False
            depth -= 1
        elif text == "{":
            if depth == 0:
                return True
            depth -= 1
    return False


def _dotted_name(tokens: list[Token], i: int) -> str:
    """``a.b.c`` starting at token i (a name), as text."""
    parts = [tokens[i].text]
    j = i + 1
    while j + 1 < len(tokens) and tokens[j].text == "." and tokens[j + 1].kind == "name":
        parts.append(tokens[j + 1].text)
        j += 2
    return ".".join(parts)


def _assignment_roots(tokens: list[Token], eq: int, lo: int) -> list[int] | None:
    """Indexes of the root names of the targets of the assignment whose ``=`` is at
    ``eq`` (walking back, not before ``lo``); None when a target is not a plain chain."""
    roots = []
    j = eq - 1
    while j >= lo:
        # one target: NAME ( .NAME | [expr] )*, read backwards
        while True:
            text = tokens[j].text
            if text == "]":
                depth = 0
                while j >= lo:
                    if tokens[j].text == "]":
                        depth += 1
                    elif tokens[j].text == "[":
                        depth -= 1
                        if depth == 0:
                            break
                    j -= 1
                j -= 1
                continue
            if tokens[j].kind != "name":
                return None
            if j - 1 >= lo and tokens[j - 1].text == ".":
                j -= 2
                continue
            roots.append(j)
            break
        j -= 1
        if j >= lo and tokens[j].text == ",":
            j -= 1
            continue
        break
    return roots


def runs_ahead_safely(source: str) -> Verdict:
    """Whether the events of this script may run ahead of each other (module docstring)."""
    try:
        tokens = tokenize(source)
    except ValueError as exc:
        return Verdict(False, f"cannot read the source: {exc}")
    for token in tokens:
        if token.kind in ("name", "keyword") and token.text in OPAQUE:
            return Verdict(False, f"uses {token.text}")
    functions = _top_level_functions(tokens)
    if functions is None:
        return Verdict(False, "blocks do not balance")
    loops = [f for f in functions if f.name == "loop"]
    if len(loops) != 1:
        return Verdict(False, "loop is not defined exactly once at the top level")
    loop = loops[0]
    setups = [f for f in functions if f.name == "setup"]
    in_setup = {i for f in setups for i in range(f.start, f.end)}
    calls = [
        i for i, t in enumerate(tokens)
        if (t.kind == "name" and t.text in REDIS_CALLS and _is_field(tokens, i)) or _string_value(t) in REDIS_CALLS
    ]
    outside = [i for i in calls if i not in in_setup and not loop.start <= i < loop.end]
    inside = [i for i in calls if loop.start <= i < loop.end]
    if outside or len(inside) != 1:
        return Verdict(False, "not exactly one Redis call site, in loop")
    call = inside[0]
    if tokens[call - 1].text != ":" or tokens[call].kind != "name" or tokens[call + 1].text != "(":
        return Verdict(False, "the Redis call is not a plain conn:command(...) call")
    call_end = _matching(tokens, call + 1)
    if call_end is None:
        return Verdict(False, "unbalanced parentheses")
    own = {f.name for f in functions}
    for i in range(loop.start, loop.end):  # a function of the script, even passed as a value, may run
        if tokens[i].kind == "name" and tokens[i].text in own and not _is_field(tokens, i):
            return Verdict(False, f"uses the script's own function {tokens[i].text}")
    return _check_loop(tokens, loop, call, call_end)


def _matching(tokens: list[Token], open_index: int) -> int | None:
    depth = 0
    for j in range(open_index, len(tokens)):
        if tokens[j].text in ("(", "[", "{"):
            depth += 1
        elif tokens[j].text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return j
    return None


def _check_loop(tokens: list[Token], loop: _Function, call: int, call_end: int) -> Verdict:
    """The Redis call's place in loop, and the state its prefix and suffix share."""
    locals_: set[str] = set(loop.params)
    aliases: dict[str, str] = {}  # local -> the free variable its value came from
    blocks: list[str] = []
    pending_loops = 0
    accessed: tuple[set[str], set[str]] = (set(), set())  # (before the call, after it)
    written: tuple[set[str], set[str]] = (set(), set())
    for i in range(loop.start, loop.end):
        token = tokens[i]
        side = 0 if i <= call_end else 1
        text = token.text
        if token.kind == "keyword":
            if text == "function":
                return Verdict(False, "loop defines a function")
            if text in ("for", "while"):
                pending_loops += 1
            elif text == "do":
                blocks.append("loop" if pending_loops else "do")
                pending_loops = max(0, pending_loops - 1)
            elif text in ("repeat", "if"):
                blocks.append("loop" if text == "repeat" else "if")
            elif text in ("end", "until") and blocks:
                blocks.pop()
            continue
        if i == call:
            if "loop" in blocks:
                return Verdict(False, "the Redis call is inside a loop")
            continue
        if token.kind != "name" or _is_field(tokens, i):
            continue
        if tokens[i - 1].text == "local":
            root = _initializer_root(tokens, i, locals_)
            for name in _local_names(tokens, i):
                locals_.add(name)
                if root:
                    aliases[name] = root
            continue
        if _is_for_variable(tokens, i):
            locals_.add(text)
            continue
        if text in locals_:
            if text not in aliases:
                continue
            text = aliases[text]
        if i == call - 2:  # the connection the command is sent on
            accessed[0].add(text)
            continue
        dotted = _dotted_name(tokens, i)
        after = i + 1 + 2 * (dotted.count("."))
        following = tokens[after] if after < len(tokens) else Token("op", "")
        is_call = following.text in ("(", ":", "{") or following.kind == "string"
        if text not in LIBRARY:
            if is_call:
                return Verdict(False, f"calls {dotted}, which may run other code")
            accessed[side].add(text)
            continue
        if following.text == ":":
            return Verdict(False, f"calls a method of {dotted}")
        for state, names in ((_EFFECT_STATE, EFFECTS), (_RANDOM_STATE, ("math.random", "math.randomseed"))):
            if dotted in names:
                accessed[side].add(state)
                written[side].add(state)
        if dotted in MUTATORS and after + 1 < len(tokens) and tokens[after + 1].kind == "name":
            target = tokens[after + 1].text
            if target in locals_:
                target = aliases.get(target, "")
            if target:
                written[side].add(target)
    for eq in range(loop.start, loop.end):
        if tokens[eq].text != "=" or (tokens[eq - 2].text in ("{", ",", ";") and _inside_braces(tokens, eq - 1)):
            continue
        roots = _assignment_roots(tokens, eq, loop.start)
        if roots is None:
            return Verdict(False, "an assignment the analysis cannot follow")
        for root in roots:
            if tokens[root - 1].text in ("local", "for"):
                continue
            name = tokens[root].text
            if name in locals_:
                name = aliases.get(name, "")
            if not name:
                continue
            written[1].add(name)
            if eq < call:  # may be before the call, or take the reply (after it): both, to be safe
                written[0].add(name)
    for a, b in ((0, 1), (1, 0)):
        clash = written[a] & (accessed[b] | written[b])
        if clash:
            part = "before" if a == 0 else "after"
            return Verdict(False, f"code {part} the Redis call changes {', '.join(sorted(clash))}, "
                                  "which the other part uses")
    return Verdict(True, "one command per event; the code before and after it share no state")


def _local_names(tokens: list[Token], i: int) -> list[str]:
    names = []
    j = i
    while j < len(tokens) and tokens[j].kind == "name":
        names.append(tokens[j].text)
        if j + 1 < len(tokens) and tokens[j + 1].text == ",":
            j += 2
            continue
        break
    if tokens[i - 1].text == "local" and i >= 2 and tokens[i - 2].text == "function":
        return names[:1]
    return names


def _initializer_root(tokens: list[Token], i: int, locals_: set[str]) -> str | None:
    """For ``local x = NAME...`` where NAME is a free variable (not a call result): NAME.
    The new local then stands for that variable (writes through it are writes to it)."""
    j = i
    while j < len(tokens) and (tokens[j].kind == "name" or tokens[j].text == ","):
        j += 1
    if j + 1 >= len(tokens) or tokens[j].text != "=" or tokens[j + 1].kind != "name":
        return None
    first = tokens[j + 1].text
    if first in LIBRARY or first in locals_:
        return None
    end = j + 2
    while end + 1 < len(tokens) and tokens[end].text in (".", "[") :
        end = (end + 2) if tokens[end].text == "." else (_matching(tokens, end) or end) + 1
    if end < len(tokens) and tokens[end].text in ("(", ":"):
        return None  # a call result is a new value
    return first


def _is_for_variable(tokens: list[Token], i: int) -> bool:
    """Token i is a variable of a ``for a, b in`` / ``for i = ...`` header."""
    j = i - 1
    while j >= 1 and tokens[j].text == "," and tokens[j - 1].kind == "name":
        j -= 2
    return j >= 0 and tokens[j].text == "for"
