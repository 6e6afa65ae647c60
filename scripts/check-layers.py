#!/usr/bin/env python3
"""Checks that the imports inside app/src only point down, and that no files import
each other in a circle.

The app's files stand in layers, top to bottom; a file may import a file of its own
layer or of a lower one, never of a higher one:

  1  server/, the other crate (not checked here)
  2  pages and server functions
       lib.rs, */pages.rs, */server_fns.rs, auth/email_pages.rs,
       auth/second_factor_pages.rs, form_errors.rs,
       context.rs, tasks/client.rs, and the module lists auth/mod.rs, admin/mod.rs,
       tasks/mod.rs
  3  web: routes, handlers, extractors
       api.rs, */api.rs, extract.rs, auth/web/*, auth/token_report.rs, openapi.rs
  4  services: what a session, an account's owner, its emails or an admin may do (may
     take &AppState), and the cookies they hand out
       auth/service/*, admin/service.rs, janitor.rs
  5  the state: AppState, composed from the parts below; nothing below imports it
       state.rs
  6  stores and parts
       auth/store/*, tasks/repo.rs, audit.rs, auth/revocations/*,
       auth/signing_keys.rs,
       auth/remote_keys.rs, auth/rate_limit/*, auth/api_tokens.rs, auth/token/*,
       auth/token_settings.rs, auth/password.rs
  7  base
       error.rs, clock.rs, db.rs, client.rs, mail/*, */types.rs, redirect.rs, csp.rs,
       wire_time.rs, paths.rs, ui.rs, private_files.rs

An import is any `crate::`, `super::` or `self::` path (in a `use`, written inline, or
as a whole string such as serde's `with = "crate::..."`), and in a module file a path
that starts with one of its own child modules. What is in a `#[cfg(test)] mod tests {
... }` block and in comments is not read, nor is testing.rs (test-only helpers). Every
file under app/src must have a layer here.

Exit 1, naming every upward import (`file:line: imports <target> (layer N) from layer
M`) and every circle; otherwise one line of summary.
"""

import fnmatch
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "app", "src")

# (pattern under app/src, layer); the first pattern that matches a file decides.
LAYERS = [
    # 2: pages and server functions
    ("lib.rs", 2),
    ("*/pages.rs", 2),
    ("*/server_fns.rs", 2),
    ("auth/email_pages.rs", 2),
    ("auth/second_factor_pages.rs", 2),
    ("form_errors.rs", 2),
    ("context.rs", 2),
    ("tasks/client.rs", 2),
    ("auth/mod.rs", 2),
    ("admin/mod.rs", 2),
    ("tasks/mod.rs", 2),
    # 3: web
    ("api.rs", 3),
    ("*/api.rs", 3),
    ("extract.rs", 3),
    ("auth/web/*", 3),
    ("auth/token_report.rs", 3),
    ("openapi.rs", 3),
    # 4: services
    ("auth/service/*", 4),
    ("admin/service.rs", 4),
    ("janitor.rs", 4),
    # 5: the state
    ("state.rs", 5),
    # 6: stores and parts
    ("auth/store/*", 6),
    ("tasks/repo.rs", 6),
    ("audit.rs", 6),
    ("auth/revocations/*", 6),
    ("auth/signing_keys.rs", 6),
    ("auth/sealed.rs", 6),
    ("auth/totp.rs", 6),
    ("auth/remote_keys.rs", 6),
    ("auth/rate_limit/*", 6),
    ("auth/api_tokens.rs", 6),
    ("auth/token/*", 6),
    ("auth/token_settings.rs", 6),
    ("auth/password.rs", 6),
    # 7: base
    ("error.rs", 7),
    ("clock.rs", 7),
    ("db.rs", 7),
    ("client.rs", 7),
    ("mail/*", 7),
    ("*/types.rs", 7),
    ("redirect.rs", 7),
    ("csp.rs", 7),
    ("wire_time.rs", 7),
    ("paths.rs", 7),
    ("ui.rs", 7),
    ("private_files.rs", 7),
]

# Test-only helpers: not a layer of the app.
SKIPPED = {"testing.rs"}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
PATH_STRING = re.compile(r"(?:crate|self|super)(?:::" + IDENT + r")+")


def layer_of(rel):
    for pattern, layer in LAYERS:
        if fnmatch.fnmatchcase(rel, pattern):
            return layer
    return None


def module_path(rel):
    """The module path of a file: lib.rs is [], auth/mod.rs is [auth], auth/x.rs is [auth, x]."""
    parts = rel[: -len(".rs")].split("/")
    if parts == ["lib"]:
        return []
    if parts[-1] == "mod":
        return parts[:-1]
    return parts


def blank(text, start, end):
    """The text between start and end with all but its newlines made spaces."""
    return "".join("\n" if c == "\n" else " " for c in text[start:end])


def strip_comments_and_strings(text):
    """Comments and string and char literals become spaces; lines keep their numbers."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text, i, j))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text, i, j))
            i = j
        elif (m := re.compile(r'b?r(#*)"').match(text, i)) and (
            i == 0 or not re.match(r"[A-Za-z0-9_]", text[i - 1])
        ):
            close = '"' + m.group(1)
            j = text.find(close, m.end())
            j = n if j < 0 else j + len(close)
            out.append(blank(text, i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if PATH_STRING.fullmatch(text, i + 1, j):
                # A path named in a string (`serialize_with = "crate::..."`) is used.
                out.append(" " + text[i + 1 : j] + " ")
            else:
                out.append(blank(text, i, j + 1))
            i = j + 1
        elif c == "'" and (m := re.compile(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'").match(text, i)):
            out.append(blank(text, i, m.end()))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def drop_test_modules(text):
    """Blanks every `#[cfg(test)] mod tests { ... }` block."""
    pattern = re.compile(r"#\[cfg\(test\)\]\s*mod\s+tests\s*\{")
    while m := pattern.search(text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        text = text[: m.start()] + blank(text, m.start(), j) + text[j:]
    return text


def inline_modules(text):
    """(start, end, name) of every inline `mod name { ... }` in the text."""
    found = []
    for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*\{", text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        found.append((m.start(), j, m.group(1)))
    return found


def scope_at(base, modules, pos):
    """The module path at a position: the file's, plus the inline modules around it."""
    path = list(base)
    for start, end, name in modules:
        if start <= pos < end:
            path.append(name)
    return path


def expand_use(body, offset):
    """Every full path that a use tree names, as (segments, position of its last
    segment); `self` is dropped, `name as alias` counts as `name`."""
    tokens = [
        (m.group(), offset + m.start())
        for m in re.finditer(IDENT + r"|::|[{},*]", body)
    ]
    paths = []

    def tree(i, prefix):
        # One use tree from token i; returns the index after it.
        segments = list(prefix)
        position = tokens[i][1] if i < len(tokens) else offset
        while i < len(tokens):
            token, at = tokens[i]
            if token == "::":
                i += 1
            elif token == "{":
                i += 1
                while i < len(tokens) and tokens[i][0] != "}":
                    if tokens[i][0] == ",":
                        i += 1
                        continue
                    i = tree(i, segments)
                return i + 1
            elif token in (",", "}"):
                break
            elif token == "as":
                i += 2
            else:
                if token not in ("self", "*") or not segments:
                    segments.append(token)
                position = at
                i += 1
        paths.append((segments, position))
        return i

    i = 0
    while i < len(tokens):
        i = tree(i, []) + 1
    return paths


class Tree:
    def __init__(self, root):
        self.root = root
        self.files = {}
        for directory, _, names in os.walk(root):
            for name in names:
                if name.endswith(".rs"):
                    rel = os.path.relpath(os.path.join(directory, name), root)
                    rel = rel.replace(os.sep, "/")
                    if rel not in SKIPPED:
                        self.files[rel] = module_path(rel)
        self.by_module = {tuple(path): rel for rel, path in self.files.items()}

    def is_folder(self, absolute):
        """Whether a path names a folder's module (auth/mod.rs) itself."""
        rel = self.by_module.get(tuple(absolute))
        return rel is not None and rel.endswith("/mod.rs")

    def resolve(self, absolute):
        """The file that defines the longest file-module prefix of an absolute path."""
        for k in range(len(absolute), -1, -1):
            rel = self.by_module.get(tuple(absolute[:k]))
            if rel is not None:
                return rel
        return None


def absolute_path(segments, scope, children):
    """A path's segments from the crate root, or None when it is not the crate's."""
    if not segments:
        return None
    head = segments[0]
    if head == "crate":
        return segments[1:]
    if head in ("self", "super"):
        path = list(scope)
        rest = list(segments)
        while rest and rest[0] in ("self", "super"):
            if rest.pop(0) == "super":
                if not path:
                    return None
                path.pop()
        return path + rest
    if head in children:
        return list(scope) + segments
    return None


def imports_of(tree, rel):
    """(line, target file) for every import a file makes of another file."""
    with open(os.path.join(tree.root, rel), encoding="utf-8") as f:
        text = f.read()
    text = drop_test_modules(strip_comments_and_strings(text))
    base = tree.files[rel]
    modules = inline_modules(text)
    # The file's own child modules, declared `mod name;`: a path may start with them.
    children = set(re.findall(r"\bmod\s+(" + IDENT + r")\s*;", text))
    line_at = lambda pos: text.count("\n", 0, pos) + 1
    found = []

    # Names that a `use` binds to one of the crate's folders (`use crate::auth;`): a
    # path written through them (`auth::store::users::find_user`) is resolved as the full path.
    aliases = {}

    def absolute_of(segments, pos):
        scope = scope_at(base, modules, pos)
        if segments and segments[0] in aliases:
            return aliases[segments[0]] + segments[1:]
        return absolute_path(segments, scope, children if scope == base else set())

    def add(absolute, pos):
        if absolute is None:
            return
        if absolute and f"{absolute[0]}.rs" in SKIPPED:
            return
        if tree.is_folder(absolute):
            # Naming a folder's module list imports nothing from it.
            return
        target = tree.resolve(absolute)
        if target is not None and target != rel:
            found.append((line_at(pos), target))

    use_spans = []
    for m in re.finditer(r"\buse\s+", text):
        end = text.find(";", m.end())
        if end < 0:
            continue
        use_spans.append((m.start(), end))
        for segments, at in expand_use(text[m.end() : end], m.end()):
            absolute = absolute_of(segments, at)
            if absolute and tree.is_folder(absolute):
                aliases[segments[-1]] = absolute
            add(absolute, at)

    inline = re.compile(r"(?<![\w$:])(" + IDENT + r")((?:::" + IDENT + r")+)")
    for m in inline.finditer(text):
        if any(start <= m.start() < end for start, end in use_spans):
            continue
        head = m.group(1)
        if head not in ("crate", "self", "super") and head not in children | set(aliases):
            continue
        add(absolute_of([head] + m.group(2).split("::")[1:], m.start()), m.start())
    return found


def circles(nodes, edges):
    """The strongly connected components of more than one file (Tarjan)."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return result


def shortest_loop(start, members, edges):
    """The shortest chain of imports from start back to itself, within members."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        here = queue.pop(0)
        for there in sorted(edges.get(here, {})):
            if there == start:
                return paths[here] + [start]
            if there in members and there not in paths:
                paths[there] = paths[here] + [there]
                queue.append(there)
    return [start]


def main():
    tree = Tree(os.path.normpath(ROOT))
    problems = []
    layers = {}
    for rel in sorted(tree.files):
        layers[rel] = layer_of(rel)
        if layers[rel] is None:
            problems.append(f"app/src/{rel}: has no layer in scripts/check-layers.py")
    # edges[file][target] = the first line of file that imports target.
    edges = {}
    upward = set()
    for rel in sorted(tree.files):
        for line, target in imports_of(tree, rel):
            first = edges.setdefault(rel, {}).setdefault(target, line)
            edges[rel][target] = min(first, line)
            mine, theirs = layers[rel], layers[target]
            if mine is not None and theirs is not None and theirs < mine:
                upward.add((rel, line, target, theirs, mine))
    for rel, line, target, theirs, mine in sorted(upward):
        problems.append(
            f"app/src/{rel}:{line}: imports app/src/{target} (layer {theirs}) from layer {mine}"
        )
    found = circles(tree.files, edges)
    for number, component in enumerate(found, 1):
        ties = [
            f"app/src/{a}:{line}: imports app/src/{b}"
            for a in component
            for b, line in sorted(edges.get(a, {}).items())
            if b in component
        ]
        loop = shortest_loop(component[0], set(component), edges)
        problems.append(
            f"circle {number}: {len(component)} files: "
            + ", ".join(f"app/src/{c}" for c in component)
            + "\n  one loop: "
            + " -> ".join(loop)
            + "\n  the imports among them:\n    "
            + "\n    ".join(ties)
        )
    imports = sum(len(targets) for targets in edges.values())
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(
            f"layers: {len(tree.files)} files, {imports} imports, {len(found)} circles, "
            f"{len(upward)} upward imports",
            file=sys.stderr,
        )
        return 1
    print(f"layers: {len(tree.files)} files, {imports} imports, 0 circles, 0 upward imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
