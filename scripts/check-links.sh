#!/usr/bin/env bash
# Checks that every relative Markdown link in README.md and docs/*.md resolves: the file
# (or directory) it names exists, and a `#anchor` names a heading of the Markdown file it
# points into (GitHub's slugs: lower-cased, punctuation dropped, spaces to hyphens, a
# repeated heading gets -1, -2, ...). Links with a scheme (https:, mailto:) are not
# followed. Prints each broken link as file:line: link and exits 1 if there is any.
# Needs only bash and python3's standard library.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 - README.md docs/*.md <<'PY'
import os
import re
import sys
import unicodedata
from urllib.parse import unquote

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target); the text may hold one level of brackets or code.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
# [label]: target (reference definitions)
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_ID = re.compile(r"""<a\s+[^>]*(?:name|id)\s*=\s*["']([^"']+)["']""", re.I)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def lines_outside_fences(text):
    """(line number, line) for every line not inside a fenced code block."""
    fence = None
    for number, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence is None:
            if m:
                fence = m.group(1)
                continue
            yield number, line
        elif m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                and line.strip() == m.group(1):
            fence = None


def heading_text(raw):
    """A heading as GitHub renders its text: code kept, links reduced to their text,
    emphasis and HTML tags dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    text = re.sub(r"<[^>]+>", "", text)
    parts = []
    pos = 0
    for m in INLINE_CODE.finditer(text):
        parts.append(re.sub(r"[*_]{1,3}(?=\S)|(?<=\S)[*_]{1,3}", "", text[pos:m.start()]))
        parts.append(m.group(2))
        pos = m.end()
    parts.append(re.sub(r"[*_]{1,3}(?=\S)|(?<=\S)[*_]{1,3}", "", text[pos:]))
    return "".join(parts)


def slug(text):
    """GitHub's anchor for a heading's text."""
    out = []
    for ch in text.strip().lower():
        if ch in " -":
            out.append("-" if ch == " " else ch)
        elif ch == "_" or unicodedata.category(ch)[0] in "LMN":
            out.append(ch)
    return "".join(out)


anchor_cache = {}


def anchors(path):
    if path not in anchor_cache:
        found = set()
        seen = {}
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for _, line in lines_outside_fences(text):
            m = HEADING.match(line)
            if m:
                base = slug(heading_text(m.group(2)))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f"{base}-{n}")
            for m in HTML_ID.finditer(line):
                found.add(m.group(1))
        anchor_cache[path] = found
    return anchor_cache[path]


def links(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for number, line in lines_outside_fences(text):
        code_free = INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)
        for m in INLINE_LINK.finditer(code_free):
            yield number, m.group(1)
        m = REFERENCE.match(code_free)
        if m:
            yield number, m.group(1)


def broken(source, target):
    target = target.strip()
    if target.startswith("<") and target.endswith(">"):
        target = target[1:-1]
    if not target or SCHEME.match(target) or target.startswith("//"):
        return False
    path, _, anchor = target.partition("#")
    path = unquote(path.split("?", 1)[0])
    if path.startswith("/"):
        resolved = os.path.normpath(path.lstrip("/"))  # GitHub: from the repository's root
    elif path:
        resolved = os.path.normpath(os.path.join(os.path.dirname(source), path))
    else:
        resolved = source
    if not os.path.exists(resolved):
        return True
    if anchor:
        if not resolved.endswith(".md") or os.path.isdir(resolved):
            return False  # anchors into other files are not checked
        return unquote(anchor).lower() not in anchors(resolved)
    return False


bad = 0
for source in sys.argv[1:]:
    if not os.path.exists(source):
        continue
    for number, target in links(source):
        if broken(source, target):
            print(f"{source}:{number}: {target}")
            bad += 1

if bad:
    print(f"{bad} broken link(s)", file=sys.stderr)
    sys.exit(1)
PY
