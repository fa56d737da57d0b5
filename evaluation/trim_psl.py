"""Write the trimmed Public Suffix List that mle/lua/lib/domain.lua carries.

The Public Suffix List (https://publicsuffix.org/, Mozilla Public License 2.0) names
the suffixes under which anyone can register a domain (``com``, ``co.uk``,
``duckdns.org``). ``domain.registrable(name)`` needs only the rules of two labels or
more: a name that no rule matches falls to the list's default rule ``*`` (its last
label is the suffix), which is what every single-label rule says anyway. So the
module keeps:

- the ICANN section's ASCII rules of two or more labels (``co.uk``, ``com.au``,
  ``*.ck``, ``!www.ck``), without the Japanese, Norwegian, Italian and US
  city/county rules of three labels and without ``.museum`` (3,100 rules, ~30 KB);
- from the private section, the dynamic DNS and free hosting suffixes under which
  every name belongs to a different customer (DynDNS, No-IP, DuckDNS, Dynu,
  github.io, herokuapp.com, ...): there the customer's label is what a DGA or a
  tunnel tool controls.

Internationalised rules are left out (queries carry their xn-- form; a name under
one of them is split by the default rule, one label too high).

Usage::

    python evaluation/trim_psl.py [--psl /usr/share/publicsuffix/public_suffix_list.dat]

It also writes the ICANN top-level domains (single-label rules; IDNs in their xn--
form) between the BEGIN/END TLDS markers, so domain.is_tld can tell a name under a
real top-level domain from one that is not (dnscat2's direct mode, internal names).

It rewrites the blocks between the BEGIN/END markers of domain.lua in place
(Debian's ``publicsuffix`` package installs the list at the default path).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

DOMAIN_LUA = Path(__file__).resolve().parent.parent / "mle" / "lua" / "lib" / "domain.lua"

PRIVATE_SECTIONS = ("DuckDNS", "DynDNS.com", "Dynu.com", "dynv6", "No-IP.com")
PRIVATE_RULES = (
    "github.io", "githubusercontent.com", "blogspot.com", "appspot.com", "herokuapp.com",
    "azurewebsites.net", "cloudapp.net", "cloudfront.net", "firebaseapp.com", "web.app",
    "netlify.app", "vercel.app", "now.sh", "pages.dev", "workers.dev", "trycloudflare.com",
    "ngrok.io", "s3.amazonaws.com", "glitch.me", "onrender.com", "fly.dev", "repl.co",
    "ddns.net", "no-ip.org", "no-ip.biz", "hopto.org", "zapto.org", "sytes.net",
    "serveftp.com", "myftp.biz", "freeddns.org", "dynu.net", "duckdns.org",
)
DROPPED_TLDS_3 = ("jp", "no", "it", "us")


def read_sections(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """(ICANN rules, private rules by the provider comment that heads them)."""
    icann: list[str] = []
    private: dict[str, list[str]] = {}
    section, provider = "", ""
    for raw in text.splitlines():
        line = raw.strip()
        if "===BEGIN ICANN DOMAINS===" in line:
            section = "icann"
            continue
        if "===BEGIN PRIVATE DOMAINS===" in line:
            section = "private"
            continue
        if line.startswith("// ") and ":" in line and section == "private" and not line.startswith("// Submitted"):
            provider = line[3:].split(":")[0].strip()
            continue
        if not line or line.startswith("//"):
            continue
        if section == "icann":
            icann.append(line)
        elif section == "private":
            private.setdefault(provider, []).append(line)
    return icann, private


def trimmed(text: str) -> list[str]:
    """The rules domain.lua keeps, sorted."""
    icann, private = read_sections(text)
    keep: set[str] = set()
    for rule in icann:
        bare = rule.lstrip("!*.")
        if not rule.isascii() or "." not in rule:
            continue
        labels = rule.split(".")
        tld = labels[-1]
        if tld == "museum" or (len(labels) >= 3 and tld in DROPPED_TLDS_3 and rule[0] not in "!*"):
            continue
        if bare:
            keep.add(rule)
    everything = {r for rules in private.values() for r in rules}
    for name in PRIVATE_SECTIONS:
        keep.update(r for r in private.get(name, []) if r.isascii() and "." in r)
    missing = [r for r in PRIVATE_RULES if r not in everything]
    if missing:
        print("not in this list (skipped):", ", ".join(missing))
    keep.update(r for r in PRIVATE_RULES if r in everything)
    return sorted(keep)


def tlds(text: str) -> list[str]:
    """The ICANN section's top-level domains (single-label rules), IDNs in their xn-- form."""
    icann, _ = read_sections(text)
    out = set()
    for rule in icann:
        if "." in rule or rule.startswith(("!", "*")):
            continue
        out.add(rule if rule.isascii() else rule.encode("idna").decode("ascii"))
    return sorted(out)


def wrap(words: list[str]) -> str:
    """Words in lines of at most 100 characters."""
    lines, line = [], ""
    for word in words:
        if len(line) + len(word) + 1 > 100:
            lines.append(line)
            line = ""
        line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def main() -> None:
    """Rewrite the suffix block of domain.lua from the list at --psl."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--psl", default="/usr/share/publicsuffix/public_suffix_list.dat")
    parser.add_argument("--out", default=str(DOMAIN_LUA))
    args = parser.parse_args()
    text = Path(args.psl).read_text(encoding="utf-8")
    rules, top = trimmed(text), tlds(text)
    out = Path(args.out)
    source = out.read_text(encoding="utf-8")
    for name, body in (("SUFFIXES", wrap(rules)), ("TLDS", wrap(top))):
        source, n = re.subn(rf"(-- BEGIN {name}\nlocal {name} = \[\[\n).*?(\n\]\]\n-- END {name})",
                            lambda m, body=body: m.group(1) + body + m.group(2), source, flags=re.S)
        if n != 1:
            raise SystemExit(f"{out}: no BEGIN/END {name} block")
    out.write_text(source, encoding="utf-8")
    print(f"{len(top)} top-level domains, ", end="")
    print(f"{len(rules)} rules -> {out}")


if __name__ == "__main__":
    main()
