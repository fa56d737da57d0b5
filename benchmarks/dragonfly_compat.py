#!/usr/bin/env python3
"""Run the public Dragonfly analyzer collection's own bats tests against MLE (and the C engine).

    python benchmarks/dragonfly_compat.py --analyzers /tmp/dragonfly-analyzers
                                          [--dragonfly /tmp/dragonfly-mle/bin/dragonfly-mle]
                                          [--mle-args "--workers 0"] [--sequential] [--test NAME ...]

``--analyzers`` is a checkout of counterflow-ai/dragonfly-analyzers (benchmarks/README.md says
how to obtain one; nothing of it lives in this repository). Every ``@test`` block of every
``test/<name>/*.bats`` is a case of its own, named ``<name>: <test title>``; for each, this
script does what bats does, without bats, jq or a system-wide install:

1. builds a Dragonfly root in a temporary directory: ``config/config.lua`` is the test's
   config with only the Redis address and the ``/usr/local/mle-data`` path rewritten;
   ``filter/`` and ``analyzer/`` receive the files the bats setup copies (``cp``) or checks
   for (``[ -e /usr/local/dragonfly-mle/analyzer/X ]``, installed by the collection's
   install.sh from its category folders);
2. runs the file's ``setup()`` as bats does before every ``@test``, against a Redis this
   script starts on a unix socket (and flushes before each case, as a fresh ``redis-server``
   would be): ``redis-cli flushall`` flushes it, ``redis-server`` lines start nothing,
   ``cat /dev/null > LOG`` empties that log file;
3. runs ``mle replay DATA -r ROOT`` (or the C engine in the root until the log file holds
   the test's ``n_lines`` lines, as test/wait.sh does);
4. interprets the validation part of the ``@test`` block: shell assignments, ``$(cat <<EOF)``
   heredocs, the array assignment ``a=(${output//$'\\n'/ })`` and ``${a[N]}``,
   ``run bash -c "$command"`` pipelines of cat / tail -n / grep / jq / echo / bc, and the
   ``[ "$output" = "$expected_output" ]`` checks. The jq filters are evaluated by a small
   jq subset implemented here (paths, ``if .x then .x|@text else empty end``,
   ``select(.a == "b")``, ``"\\(.a),\\(.b)"`` interpolation, ``-r``); ``bc`` by its
   comparisons of two decimal numbers (``echo 'A>B' | bc`` prints 1 or 0).

Per case it prints PASS, FAIL with a diff of the first failing check, or SKIP with what is
missing here (a bats ``skip``, data files the collection downloads, the redis-ml module for
the C engine: MLE answers ``ML.*`` commands itself) or what this script does not evaluate
(a shell, jq or bc construct outside the subsets above), never a PASS it did not check.

``--sequential`` appends ``for _, a in ipairs(analyzers) do a.sequential = true end`` to each
config.lua (MLE then runs every analyzer's events one after another); ``--mle-args`` is
passed to ``mle replay`` (e.g. "--workers 0").
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import operator
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import c_engine

from mle.redis.pipe import RedisPipe
from mle.redis.server import PrivateRedis

DRAGONFLY_ROOT = "/usr/local/dragonfly-mle"
DRAGONFLY_LOG = "/var/log/dragonfly-mle"
MLE_DATA = "/usr/local/mle-data"
# where the collection's install.sh puts analyzers from (install.sh --all) and filters from
ANALYZER_DIRS = ("anomaly", "event-triage", "ip-util", "machine-learning", "stats", "top-talkers", "util")
FILTER_DIRS = ("filter",)
REDIS_ML = re.compile(r"\bML\.(FOREST|LOGREG|LINREG|MATRIX)\.", re.IGNORECASE)
SEQUENTIAL_LUA = ("\n-- added by dragonfly_compat.py --sequential\n"
                  "for _, a in ipairs(analyzers) do a.sequential = true end\n")


# --------------------------------------------------------------------------- bats parsing


class Unsupported(Exception):
    """A shell, jq or bc construct this script does not evaluate: the case is a SKIP, not a verdict."""


@dataclass
class BatsTest:
    """One ``@test`` block of a bats file: the file's setup(), the block's own setup lines and
    the validation lines after the engine starts."""

    path: Path
    folder: str  # test/<folder>/
    title: str  # @test "<title>"
    setup: list[str] = field(default_factory=list)  # the file's setup() body, run before the block
    skip: str | None = None
    copies: list[tuple[str, str]] = field(default_factory=list)  # (source relative to repo, destination)
    required: list[str] = field(default_factory=list)  # destinations checked with [ -e ]
    edits: list[tuple[str, str]] = field(default_factory=list)  # (sed expression, file under the root)
    body: list[str] = field(default_factory=list)  # logical lines after the engine starts

    @property
    def name(self) -> str:
        return f"{self.folder}: {self.title}"


def logical_lines(text: str) -> list[str]:
    """Lines of a shell script, a heredoc kept as one line with its newlines."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        match = re.search(r"<<-?\s*'?(\w+)'?", line)
        if match and not line.lstrip().startswith("#"):
            end = match.group(1)
            block = [line]
            i += 1
            while i < len(lines) and lines[i].strip() != end:
                block.append(lines[i])
                i += 1
            block.append(end)
            i += 1
            if i < len(lines) and lines[i].strip() == ")":  # the ) closing $(cat <<EOF ...)
                block.append(")")
                i += 1
            out.append("\n".join(block))
            continue
        out.append(line)
        i += 1
    return out


_TEST_START = re.compile(r'@test\s+"((?:[^"\\]|\\.)*)"\s*\{$')
_SETUP_START = re.compile(r"(?:function\s+)?setup\s*\(\s*\)\s*\{$")


def bats_blocks(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The setup() body and every ``@test`` block (title, body lines) of a bats file, in order."""
    setup: list[str] = []
    tests: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in logical_lines(text):
        stripped = line.strip()
        if current is not None:
            if stripped == "}":
                current = None
            else:
                current.append(line)
        elif match := _TEST_START.match(stripped):
            current = []
            tests.append((match.group(1), current))
        elif _SETUP_START.match(stripped):
            current = setup
    return setup, tests


def parse_bats(path: Path) -> list[BatsTest]:
    """Every ``@test`` block of one bats file, each with the file's setup()."""
    setup, blocks = bats_blocks(path.read_text())
    if not blocks:
        raise ValueError(f"{path}: no @test block found")
    return [parse_test(path, title, lines, setup) for title, lines in blocks]


def parse_test(path: Path, title: str, lines: list[str], setup: list[str]) -> BatsTest:
    """Setup copies, checks, skip reason and validation lines of one ``@test`` block."""
    test = BatsTest(path=path, folder=path.parent.name, title=title, setup=setup)
    started = False
    cwd = ""
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not started:
            if line.startswith("skip"):
                words = shlex.split(line)
                test.skip = words[1] if len(words) > 1 else "skipped by the bats file"
            elif line.startswith("cp "):
                words = shlex.split(line)
                test.copies.append((words[1], words[2]))
            elif re.match(r"\[\s+-e\s", line):
                test.required.append(shlex.split(line)[2])
            elif line.startswith("cd "):
                cwd = shlex.split(line)[1]
            elif line.startswith("sed -i"):
                words = shlex.split(line)
                test.edits.append((words[2], f"{cwd}/{words[3]}"))
            elif re.search(r"bin/dragonfly-mle\b", line):
                started = True
            continue
        test.body.append(raw)
    if not started and not test.skip:
        raise ValueError(f"{path}: @test {title!r}: no line starting bin/dragonfly-mle found")
    return test


# --------------------------------------------------------------------------- a small jq


class JqError(Exception):
    """A jq filter this subset cannot parse, or an error evaluating it."""


_TOKEN = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|"""
                    r"""(?P<fmt>@\w+)|(?P<path>\.[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*|\.)|"""
                    r"""(?P<op>==|!=|\||\(|\)|,)|(?P<word>[A-Za-z_]\w*))""")


def _tokens(source: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN.match(source, pos)
        if not match or match.end() == pos:
            raise JqError(f"unsupported jq at {source[pos:]!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent over the jq subset; builds Python closures value -> list of outputs."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokens(source)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise JqError(f"jq {self.source!r}: expected {value or 'more'}, got {token and token[1]!r}")
        self.i += 1
        return token

    def parse(self):
        expr = self.pipe()
        if self.peek() is not None:
            raise JqError(f"jq {self.source!r}: unexpected {self.peek()[1]!r}")
        return expr

    def pipe(self):
        left = self.compare()
        while self.peek() and self.peek()[1] == "|":
            self.take("|")
            right = self.compare()
            left = (lambda a, b: lambda v: [y for x in a(v) for y in b(x)])(left, right)
        return left

    def compare(self):
        left = self.term()
        token = self.peek()
        if token and token[1] in ("==", "!="):
            self.take()
            right = self.term()
            equal = token[1] == "=="
            return lambda v: [(a == b) == equal for a in left(v) for b in right(v)]
        return left

    def term(self):
        kind, value = self.take()
        if kind == "path":
            keys = [k for k in value.split(".") if k]
            return lambda v: [_get_path(v, keys)]
        if kind == "num":
            number = json.loads(value)
            return lambda v: [number]
        if kind == "str":
            return self.string(value)
        if kind == "fmt":
            if value not in ("@text", "@json"):
                raise JqError(f"unsupported jq format {value}")
            text = value == "@text"
            return lambda v: [v if text and isinstance(v, str) else _jq_json(v)]
        if value == "(":
            inner = self.pipe()
            self.take(")")
            return inner
        if value == "empty":
            return lambda v: []
        if value in ("true", "false", "null"):
            constant = json.loads(value)
            return lambda v: [constant]
        if value == "select":
            self.take("(")
            cond = self.pipe()
            self.take(")")
            return lambda v: [v] if any(_truthy(c) for c in cond(v)) else []
        if value == "if":
            cond = self.pipe()
            self.take("then")
            then = self.pipe()
            self.take("else")
            other = self.pipe()
            self.take("end")
            return lambda v: [y for c in cond(v) for y in (then(v) if _truthy(c) else other(v))]
        raise JqError(f"jq {self.source!r}: unsupported {value!r}")

    def string(self, literal: str):
        """A string literal, with \\( ... ) interpolation."""
        body = literal[1:-1]
        parts: list = []
        i, text = 0, ""
        while i < len(body):
            if body.startswith("\\(", i):
                depth, j = 1, i + 2
                while j < len(body) and depth:
                    depth += {"(": 1, ")": -1}.get(body[j], 0)
                    j += 1
                parts.append(json.loads(f'"{text}"'))
                parts.append(_Parser(body[i + 2:j - 1]).parse())
                text, i = "", j
            else:
                text += body[i:i + 2] if body[i] == "\\" else body[i]
                i += 2 if body[i] == "\\" else 1
        parts.append(json.loads(f'"{text}"'))

        def render(v):
            out = ""
            for part in parts:
                if isinstance(part, str):
                    out += part
                else:
                    out += "".join(x if isinstance(x, str) else _jq_json(x) for x in part(v))
            return [out]
        return render


def _get_path(value, keys: list[str]):
    for key in keys:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise JqError(f"cannot index {type(value).__name__} with {key!r}")
        value = value.get(key)
    return value


def _truthy(value) -> bool:
    return value is not None and value is not False


def _jq_number(number: float | int) -> str:
    """jq 1.6's rendering: integers as integers, other doubles in their shortest form."""
    if isinstance(number, bool):
        return "true" if number else "false"
    if isinstance(number, int):
        return str(number)
    if math.isfinite(number) and number == int(number) and abs(number) < 1e17:
        return str(int(number))
    return repr(number)


def _jq_json(value, indent: int | None = None) -> str:
    """Compact JSON as jq writes it (numbers as jq prints them)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return _jq_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    pad = "" if indent is None else "\n" + " " * indent
    inner = "" if indent is None else "\n" + " " * (indent + 2)
    colon = ":" if indent is None else ": "
    deeper = None if indent is None else indent + 2
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[" + ",".join(inner + _jq_json(x, deeper) for x in value) + pad + "]"
    if not value:
        return "{}"
    items = (inner + json.dumps(k, ensure_ascii=False) + colon + _jq_json(v, deeper) for k, v in value.items())
    return "{" + ",".join(items) + pad + "}"


def run_jq(args: list[str], text: str) -> str:
    """``jq [-r] FILTER`` over a stream of JSON values; returns what jq would print."""
    raw = "-r" in args
    filters = [a for a in args if not a.startswith("-")]
    if len(filters) != 1 or any(a.startswith("-") and a != "-r" for a in args):
        raise Unsupported(f"jq arguments {args}")
    try:
        program = _Parser(filters[0]).parse()
    except JqError as exc:
        raise Unsupported(f"jq filter outside this subset: {exc}") from None
    decoder = json.JSONDecoder()
    out, pos = [], 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise JqError(f"parse error: {exc}") from None
        for result in program(value):
            out.append(result if raw and isinstance(result, str) else _jq_json(result, indent=0))
    return "".join(line + "\n" for line in out)


# --------------------------------------------------------------------------- a small shell


def brace_end(text: str, start: int) -> int:
    """Index of the ``}`` closing a ``${`` whose body starts at ``start`` (``$'...'`` skipped)."""
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$'", i):
            i = ansi_c_end(text, i + 2) + 1
            continue
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
        i += 1
    raise Unsupported(f"unterminated ${{ in {text!r}")


def ansi_c_end(text: str, start: int) -> int:
    """Index of the ``'`` closing a ``$'`` string whose body starts at ``start``."""
    i = start
    while i < len(text) and text[i] != "'":
        i += 2 if text[i] == "\\" else 1
    if i >= len(text):
        raise Unsupported(f"unterminated $' in {text!r}")
    return i


ANSI_C_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


def ansi_c(body: str) -> str:
    """The text of ``$'BODY'``: backslash escapes n, t, \\\\, \\' and \\" (others not evaluated)."""
    out, i = "", 0
    while i < len(body):
        if body[i] == "\\":
            escape = body[i + 1:i + 2]
            if escape not in ANSI_C_ESCAPES:
                raise Unsupported(f"escape \\{escape} in $'{body}'")
            out += ANSI_C_ESCAPES[escape]
            i += 2
        else:
            out += body[i]
            i += 1
    return out


def shell_words(line: str) -> list[str]:
    """Split a command line into words, quotes, backslashes and ``${...}`` kept for :meth:`Shell.expand`."""
    words, word, quote, i = [], "", None, 0
    while i < len(line):
        c = line[i]
        if quote != "'" and line.startswith("${", i):
            end = brace_end(line, i + 2)
            word += line[i:end + 1]
            i = end + 1
            continue
        if c == "\\" and quote != "'" and i + 1 < len(line):
            word += line[i:i + 2]
            i += 2
            continue
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c.isspace():
            if word:
                words.append(word)
            word = ""
            i += 1
            continue
        word += c
        i += 1
    if word:
        words.append(word)
    return words


def split_substitution(text: str) -> tuple[str, str]:
    """``PATTERN/STRING`` of ``${name//PATTERN/STRING}``, split at the first ``/`` outside ``$'...'``."""
    i = 0
    while i < len(text):
        if text.startswith("$'", i):
            i = ansi_c_end(text, i + 2) + 1
        elif text[i] == "/":
            return text[:i], text[i + 1:]
        else:
            i += 1
    return text, ""


_BC_NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)"
_BC_COMPARISON = re.compile(rf"\s*(?P<a>{_BC_NUMBER})?\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<b>{_BC_NUMBER})?\s*")
_BC_OPERATORS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
                 "==": operator.eq, "!=": operator.ne}


def run_bc(text: str) -> str:
    """``bc`` on lines ``A OP B`` (two decimal numbers, OP a comparison): 1 or 0 a line, exactly.

    A comparison with an operand missing (``echo '>0' | bc`` from an empty variable) is bc's
    syntax error: bc writes it to stderr, which bats' ``run`` captures in ``$output``, and
    exits 0. Any other input is outside this subset (:class:`Unsupported`).
    """
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _BC_COMPARISON.fullmatch(line)
        if not match:
            raise Unsupported(f"bc input {line!r} (only a comparison of two decimal numbers is evaluated)")
        if match["a"] is None or match["b"] is None:
            out.append(f"(standard_in) {number}: syntax error")
        else:
            out.append("1" if _BC_OPERATORS[match["op"]](Decimal(match["a"]), Decimal(match["b"])) else "0")
    return "".join(line + "\n" for line in out)


_LITERAL_PATTERN = re.compile(r"[^*?\[\\'\"$]+")  # no glob, quote, escape or expansion
_ANSI_C_PATTERN = re.compile(r"\$'(?:[^'\\]|\\.)*'")


class Shell:
    """The shell subset the bats validation uses: assignments (arrays too), $(...), run bash -c, [ ... ]."""

    def __init__(self, analyzers: Path, log_dir: Path) -> None:
        self.analyzers = analyzers
        self.log_dir = log_dir
        self.vars: dict[str, str] = {"output": "", "status": "0"}
        self.arrays: dict[str, list[str]] = {}
        self.checks: list[tuple[str, str, str]] = []  # (what, expected, got) of failed checks
        self.passed = 0

    def expand(self, word: str) -> str:
        """Expand one shell word: quotes, backslashes, $name, ${...}, $'...', $( ... )."""
        out, i = "", 0
        quote = None
        while i < len(word):
            c = word[i]
            if quote == "'":
                if c == "'":
                    quote = None
                else:
                    out += c
                i += 1
            elif c == "'" and quote is None:
                quote = "'"
                i += 1
            elif c == '"':
                quote = None if quote == '"' else '"'
                i += 1
            elif c == "\\" and i + 1 < len(word):
                nxt = word[i + 1]
                if quote == '"' and nxt not in '$`"\\\n':
                    out += c
                else:
                    out += nxt
                i += 2
            elif c == "$":
                text, i = self.dollar(word, i, quote)
                out += text
            else:
                out += c
                i += 1
        return out

    def dollar(self, word: str, i: int, quote: str | None) -> tuple[str, int]:
        """The expansion starting at the ``$`` at ``word[i]``, and the index after it."""
        if word.startswith("$(", i):
            depth, j = 1, i + 2
            while j < len(word) and depth:
                depth += {"(": 1, ")": -1}.get(word[j], 0)
                j += 1
            return self.substitute(word[i + 2:j - 1]), j
        if word.startswith("${", i):
            end = brace_end(word, i + 2)
            return self.parameter(word[i + 2:end]), end + 1
        if word.startswith("$'", i) and quote is None:
            end = ansi_c_end(word, i + 2)
            return ansi_c(word[i + 2:end]), end + 1
        match = re.match(r"\$(\w+|[!?$])", word[i:])
        if not match:
            return "$", i + 1
        return self.value(match.group(1)), i + match.end()

    def value(self, name: str) -> str:
        """``$name``: a variable, or the first element of an array as bash gives it."""
        if name in self.vars:
            return self.vars[name]
        return (self.arrays.get(name) or [""])[0]

    def parameter(self, body: str) -> str:
        """``${name}``, ``${name[N]}`` or ``${name//PATTERN/STRING}`` (``/``: the first match only)
        with a literal PATTERN; other forms are not evaluated here."""
        if re.fullmatch(r"\w+|[!?$]", body):
            return self.value(body)
        if match := re.fullmatch(r"(\w+)\[(\d+)\]", body):
            name, index = match.group(1), int(match.group(2))
            items = self.arrays.get(name, [self.vars[name]] if name in self.vars else [])
            return items[index] if index < len(items) else ""
        if match := re.fullmatch(r"(\w+)(//?)(.+)", body, re.DOTALL):
            pattern, replacement = split_substitution(match.group(3))
            if not (_LITERAL_PATTERN.fullmatch(pattern) or _ANSI_C_PATTERN.fullmatch(pattern)):
                raise Unsupported(f"pattern {pattern!r} in ${{{body}}} (only a literal or $'...' one is evaluated)")
            count = -1 if match.group(2) == "//" else 1
            return self.value(match.group(1)).replace(self.expand(pattern), self.expand(replacement), count)
        raise Unsupported(f"parameter expansion ${{{body}}}")

    def array_words(self, text: str) -> list[str]:
        """The elements of ``name=(WORDS)``: the words expanded, then split at blanks as bash
        splits an unquoted expansion; quoted words and glob characters are not evaluated here."""
        i = 0
        while i < len(text):
            if text.startswith("${", i):
                i = brace_end(text, i + 2) + 1
                continue
            if text[i] in "'\"\\`*?[":
                raise Unsupported(f"array assignment ({text}): only unquoted words are evaluated")
            i += 1
        words = [w for w in re.split(r"[ \t\n]+", self.expand(text)) if w]
        if any(c in w for w in words for c in "*?["):
            raise Unsupported(f"glob characters in the words of ({text})")
        return words

    def substitute(self, command: str) -> str:
        """$( ... ): a heredoc (cat <<EOF) or one of the collection's helper scripts."""
        heredoc = re.match(r"\s*cat\s+<<-?\s*'?(\w+)'?\n(.*)\n\1\s*$", command, re.DOTALL)
        if heredoc:
            return heredoc.group(2).rstrip("\n")
        words = [self.expand(w) for w in shell_words(command)]
        if words and words[0].startswith("./test/"):
            result = subprocess.run([sys.executable, *words], cwd=self.analyzers, capture_output=True, text=True)
            return result.stdout.rstrip("\n")
        raise Unsupported(f"command substitution $({command})")

    def pipeline(self, command: str) -> tuple[int, str]:
        """``run bash -c COMMAND`` for pipelines of cat, tail -n, grep, jq, echo and bc."""
        command = command.replace(DRAGONFLY_LOG + "/", f"{self.log_dir}/")
        lexer = shlex.shlex(command, posix=True, punctuation_chars="|")
        lexer.whitespace_split = True
        stages: list[list[str]] = [[]]
        for token in lexer:
            if token == "|":
                stages.append([])
            else:
                stages[-1].append(token)
        text = ""
        try:
            for words in stages:
                name, args = words[0], words[1:]
                if name == "cat":
                    text = Path(args[0]).read_text()
                elif name == "tail":
                    count = int(args[args.index("-n") + 1])
                    source = [a for i, a in enumerate(args) if a != "-n" and (i == 0 or args[i - 1] != "-n")]
                    lines = (Path(source[0]).read_text() if source else text).splitlines(keepends=True)
                    text = "".join(lines[-count:] if count else [])
                elif name == "grep":
                    pattern = args[-1]
                    text = "".join(line for line in text.splitlines(keepends=True) if re.search(pattern, line))
                elif name == "jq":
                    text = run_jq(args, text)
                elif name == "echo" and not (args and args[0].startswith("-")):
                    text = " ".join(args) + "\n"
                elif name == "bc" and not args:
                    text = run_bc(text)
                else:
                    raise Unsupported(f"{name!r} in {command!r}")
        except (OSError, JqError, ValueError, IndexError) as exc:
            return 1, f"{type(exc).__name__}: {exc}"
        return 0, text

    def check(self, line: str) -> None:
        """``[ "$a" = "$b" ]`` or ``[ "$x" -eq N ]``; a failed one is remembered."""
        words = shell_words(line)[1:-1]
        left, op, right = self.expand(words[0]), words[1], self.expand(words[2])
        ok = left == right if op == "=" else (op == "-eq" and left.strip().lstrip("-").isdigit()
                                              and int(left) == int(right))
        if ok:
            self.passed += 1
        else:
            self.checks.append((f"{words[0]} {op} {words[2]}", right, left))

    def execute(self, line: str, on_wait) -> None:
        """One logical line of the bats validation."""
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "echo", "cd ")):
            return
        if stripped.startswith("./test/wait.sh"):
            words = [self.expand(w) for w in shell_words(stripped)]
            self.vars["?"] = "0" if on_wait(words[1], int(words[2])) else "1"
            return
        if stripped.startswith("run "):
            words = shell_words(stripped)
            stops_engine = re.match(r'"?(pkill|kill)\b', words[3] if len(words) > 3 else "")
            if words[1:3] == ["bash", "-c"] and not stops_engine:
                status, output = self.pipeline(self.expand(" ".join(words[3:])))
                self.vars["status"], self.vars["output"] = str(status), output.rstrip("\n")
            else:  # run pkill / run kill: the engine was stopped by us already
                self.vars["status"], self.vars["output"] = "0", ""
            return
        if stripped.startswith("["):
            self.check(stripped)
            return
        match = re.fullmatch(r"(\w+)=\((.*)\)", stripped, re.DOTALL)
        if match:
            self.arrays[match.group(1)] = self.array_words(match.group(2))
            self.vars.pop(match.group(1), None)
            return
        match = re.match(r"(\w+)=(.*)$", stripped, re.DOTALL)
        if match:
            value = match.group(2)
            self.vars[match.group(1)] = self.vars.get("?", "0") if value == "$?" else self.expand(value)
            return
        raise Unsupported(f"line {stripped!r}")


# --------------------------------------------------------------------------- roots and engines


@dataclass
class Prepared:
    root: Path
    data: Path


def install_all(analyzers: Path, root: Path) -> None:
    """What the collection's Dockerfile runs before its tests (install.sh --all, without downloads)."""
    for kind, folders in (("analyzer", ANALYZER_DIRS), ("filter", FILTER_DIRS)):
        for folder in folders:
            for source in sorted((analyzers / folder).glob("*")):
                if source.is_file():
                    shutil.copy(source, root / kind / source.name)


def build_root(test: BatsTest, analyzers: Path, work: Path, redis_socket: str, sequential: bool) -> Prepared:
    """A Dragonfly root under ``work`` laid out as the bats setup lays out /usr/local/dragonfly-mle."""
    root = work / "root"
    for sub in ("config", "filter", "analyzer"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    install_all(analyzers, root)
    data_dir = work / "mle-data"
    data_dir.mkdir()
    config_text, data = None, None
    for source_name, destination in test.copies:
        source = analyzers / source_name
        if not source.is_file():
            raise LookupError(f"bats copies {source_name}, missing from the checkout")
        if destination == f"{DRAGONFLY_ROOT}/config/config.lua":
            config_text = source.read_text()
        elif destination.startswith(MLE_DATA):
            data = data_dir / source.name
            shutil.copy(source, data)
        elif destination.startswith(DRAGONFLY_ROOT + "/"):
            kind = destination[len(DRAGONFLY_ROOT) + 1:].split("/")[0]
            shutil.copy(source, root / kind / source.name)
        else:
            raise LookupError(f"bats copies {source_name} to {destination}")
    for destination in test.required:
        if not destination.startswith(DRAGONFLY_ROOT + "/"):
            raise LookupError(f"checks for {destination}")
        if not (root / destination[len(DRAGONFLY_ROOT) + 1:]).exists():
            raise LookupError(f"needs {destination}, which the collection does not ship (install.sh downloads it)")
    for expression, target in test.edits:
        apply_sed(expression, root / target[len(DRAGONFLY_ROOT) + 1:])
    if config_text is None or data is None:
        raise LookupError("bats file copies no config or no data file")
    config_text = re.sub(r'(?m)^(\s*redis_host\s*=\s*).*$', rf'\g<1>"{redis_socket}"', config_text)
    config_text = re.sub(r'(?m)^(\s*redis_port\s*=\s*).*$', r'\g<1>"0"', config_text)
    config_text = config_text.replace(f"file://{MLE_DATA}/", f"file://{data_dir}/")
    if sequential:
        config_text += SEQUENTIAL_LUA
    (root / "config/config.lua").write_text(config_text)
    return Prepared(root=root, data=data)


def apply_sed(expression: str, path: Path) -> None:
    """``sed -i "s/PATTERN/REPLACEMENT/g" FILE`` (the only sed form the bats files use)."""
    match = re.fullmatch(r"s/((?:[^/\\]|\\.)*)/((?:[^/\\]|\\.)*)/(g?)", expression)
    if not match or not path.is_file():
        raise LookupError(f"sed -i {expression!r} {path}: unsupported here")
    pattern, replacement, every = match.groups()
    text = re.sub(pattern, replacement.replace("\\", "\\\\"), path.read_text(), count=0 if every else 1)
    path.write_text(text)


def run_setup(lines: list[str], redis: PrivateRedis, log_dir: Path) -> None:
    """The file's setup() as bats runs it before each @test: ``redis-cli flushall`` and
    ``cat /dev/null > /var/log/dragonfly-mle/LOG`` act; ``redis-server`` starts nothing (this
    script's Redis runs; its ``--loadmodule redis-ml.so``: see :func:`missing_requirements`)."""
    for raw in lines:
        line = re.sub(r"(?:\s+3>&-)?(?:\s*&)?\s*$", "", raw.strip())  # closed fd 3, background
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise Unsupported(f"setup() line {raw.strip()!r}: {exc}") from None
        if words[0] == "redis-server":
            continue
        if words == ["redis-cli", "flushall"]:
            RedisPipe(redis.address).call("FLUSHALL")
        elif words[:3] == ["cat", "/dev/null", ">"] and len(words) == 4 and words[3].startswith(DRAGONFLY_LOG + "/"):
            (log_dir / words[3][len(DRAGONFLY_LOG) + 1:]).write_bytes(b"")
        else:
            raise Unsupported(f"setup() line {raw.strip()!r}")


def missing_requirements(prepared: Prepared, answers_redis_ml: bool) -> str | None:
    """Why this test cannot run here (data files install.sh downloads; the redis-ml module,
    unless the engine answers ``ML.*`` itself, as MLE does), or None."""
    config = (prepared.root / "config/config.lua").read_text()
    names = re.findall(r"""script\s*=\s*["']([^"']+)["']""", config)
    scripts = [p for name in names for p in (prepared.root / "filter" / name, prepared.root / "analyzer" / name)
               if p.is_file()]
    for script in scripts:
        text = script.read_text(errors="replace")
        for required in re.findall(r"""require\s*\(?\s*['"]analyzer/([\w.-]+)['"]""", text):
            if (prepared.root / "analyzer" / f"{required}.lua").is_file():
                scripts.append(prepared.root / "analyzer" / f"{required}.lua")
        if REDIS_ML.search(text) and not answers_redis_ml:
            return f"needs the redis-ml module ({script.name} sends ML.* commands); not available here"
        for name in re.findall(r"""['"](?:analyzer/)?([\w.-]+\.(?:csv|CSV|tsv|txt|dat|mmdb))['"]""", text):
            if not (prepared.root / "analyzer" / name).exists():
                return f"needs analyzer/{name} ({script.name} reads it; install.sh downloads it)"
    return None


def run_mle(mle: list[str], prepared: Prepared, log_dir: Path, extra: list[str]) -> str | None:
    """``mle replay DATA -r ROOT``; returns an error text, or None."""
    command = [*mle, "replay", str(prepared.data), "-r", str(prepared.root), "--log-dir", str(log_dir),
               "--no-progress", *extra]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        return f"mle exited {result.returncode}:\n" + "\n".join(result.stderr.splitlines()[-15:])
    return None


def run_c_engine(binary: Path, prepared: Prepared, log_file: Path, n_lines: int, timeout: float) -> bool:
    """Start the C engine in the root, wait for ``n_lines`` lines (it never exits at end of file), stop it."""
    process = c_engine.start(binary, prepared.root)
    try:
        counter, _, _ = c_engine.wait_for_lines(process, log_file, n_lines, timeout, poll=0.1)
        time.sleep(0.5)  # let late writes land, as the bats run does between wait.sh and kill
        return counter() >= n_lines
    finally:
        c_engine.stop(process)


# --------------------------------------------------------------------------- one test


@dataclass
class Outcome:
    name: str
    verdict: str  # PASS, FAIL, SKIP
    detail: str = ""


def run_test(test: BatsTest, analyzers: Path, redis: PrivateRedis, args: argparse.Namespace) -> Outcome:
    """One @test block: its root, the file's setup(), the engine and the block's checks."""
    if test.skip:
        return Outcome(test.name, "SKIP", f"bats: {test.skip}")
    with tempfile.TemporaryDirectory(prefix=f"dfcompat-{test.folder}-") as tmp:
        work = Path(tmp)
        try:
            prepared = build_root(test, analyzers, work, str(redis.socket_path), args.sequential)
        except LookupError as exc:
            return Outcome(test.name, "SKIP", str(exc))
        reason = missing_requirements(prepared, answers_redis_ml=not args.dragonfly)
        if reason:
            return Outcome(test.name, "SKIP", reason)
        RedisPipe(redis.address).call("FLUSHALL")  # bats' teardown stopped the previous test's Redis
        log_dir = Path(DRAGONFLY_LOG) if args.dragonfly else work / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        try:
            run_setup(test.setup, redis, log_dir)
        except Unsupported as exc:
            return Outcome(test.name, "SKIP", f"not evaluated here: {exc}")
        shell = Shell(analyzers, log_dir)
        state = {"ran": False, "error": None}

        def start_engine(log_file: str, n_lines: int) -> bool:
            path = Path(log_file.replace(DRAGONFLY_LOG + "/", f"{log_dir}/"))
            if not state["ran"]:
                state["ran"] = True
                if args.dragonfly:
                    for old in log_dir.glob("*"):
                        if old.is_file():
                            old.write_bytes(b"")
                    return run_c_engine(args.dragonfly, prepared, path, n_lines, args.timeout)
                state["error"] = run_mle(args.mle, prepared, log_dir, args.mle_args)
            return c_engine.LineCounter(path)() >= n_lines

        for line in test.body:
            if not state["ran"] and line.strip().startswith("run bash"):
                start_engine(shell.vars.get("log_file", ""), 0)
            try:
                shell.execute(line, start_engine)
            except Unsupported as exc:
                return Outcome(test.name, "SKIP", f"not evaluated here: {exc}")
            except ValueError as exc:
                return Outcome(test.name, "FAIL", f"runner: {exc}")
            if state["error"]:
                return Outcome(test.name, "FAIL", state["error"])
        if not shell.checks:
            return Outcome(test.name, "PASS", f"{shell.passed} checks")
        what, expected, got = shell.checks[0]
        diff = "\n".join(difflib.unified_diff(expected.splitlines(), got.splitlines(), "expected", "got",
                                              lineterm=""))
        return Outcome(test.name, "FAIL", f"{len(shell.checks)} of {len(shell.checks) + shell.passed} checks "
                                          f"failed; first: [ {what} ]\n{diff or repr(got)}")


def default_mle() -> list[str]:
    beside = Path(sys.executable).with_name("mle")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "mle"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--analyzers", type=Path, required=True, help="checkout of dragonfly-analyzers")
    parser.add_argument("--dragonfly", type=Path, help="the C engine's binary (default: run MLE)")
    parser.add_argument("--mle", type=shlex.split, default=default_mle(), help="mle command")
    parser.add_argument("--mle-args", type=shlex.split, default=[], help='extra mle replay args, e.g. "--workers 0"')
    parser.add_argument("--sequential", action="store_true", help="set sequential = true on every analyzer")
    parser.add_argument("--timeout", type=float, default=10.0, help="C engine: seconds to wait for output")
    parser.add_argument("--test", action="append",
                        help='run only these: a folder name (all its @test blocks) or a case, "dga: Test DGA Example"')
    args = parser.parse_args()
    bats = sorted((args.analyzers / "test").glob("*/*.bats"))
    if not bats:
        raise SystemExit(f"--analyzers {args.analyzers}: no test/*/*.bats files")
    if args.dragonfly and not os.access(args.dragonfly, os.X_OK):
        raise SystemExit(f"--dragonfly {args.dragonfly}: not an executable file")
    engine = f"C engine {args.dragonfly}" if args.dragonfly else f"MLE ({' '.join(args.mle)} {' '.join(args.mle_args)})"
    print(f"engine: {engine}{', every analyzer sequential' if args.sequential else ''}")
    tests = [test for path in bats for test in parse_bats(path)
             if not args.test or test.folder in args.test or test.name in args.test]
    width = max((len(test.name) for test in tests), default=0)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    with tempfile.TemporaryDirectory(prefix="dfcompat-redis-") as run_dir, PrivateRedis(Path(run_dir)) as redis:
        for test in tests:
            outcome = run_test(test, args.analyzers.resolve(), redis, args)
            counts[outcome.verdict] += 1
            first, *rest = (outcome.detail or "").split("\n")
            print(f"{outcome.verdict:<4} {outcome.name:<{width}}  {first}")
            for line in rest:
                print(f"     {line}")
            sys.stdout.flush()
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")


if __name__ == "__main__":
    main()
