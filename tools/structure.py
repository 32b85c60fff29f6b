#!/usr/bin/env python3
"""The shape of qudao's source, as ARCHITECTURE.md reports it.

    python3 tools/structure.py [SRC_DIR]

Prints the Rust files per top-level module, the functions longer than 100 lines, and the
cycles between top-level modules (a module reaches another when one of its files names
`crate::other`, or `super::` from a file directly in `src/`). Only the standard library.
"""
import os
import re
import sys
from collections import defaultdict

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
src = os.path.normpath(src)


def top_module(path):
    rel = os.path.relpath(path, src)
    head = rel.split(os.sep)[0]
    return head[:-3] if head.endswith(".rs") else head


files = []
for root, _, names in os.walk(src):
    for n in names:
        if n.endswith(".rs"):
            files.append(os.path.join(root, n))

per_module = defaultdict(int)
for f in files:
    per_module[top_module(f)] += 1

FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")
long_fns = []
edges = defaultdict(set)
modules = set(per_module)
for f in files:
    lines = open(f, encoding="utf-8").read().split("\n")
    me = top_module(f)
    for line in lines:
        code = line.split("//")[0]
        for m in re.findall(r"crate::(\w+)", code):
            if m in modules and m != me:
                edges[me].add(m)
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        indent = m.group(1)
        for j in range(i + 1, len(lines)):
            if lines[j].startswith(indent + "}") and not lines[j].startswith(indent + "} else"):
                length = j - i + 1
                if length > 100:
                    long_fns.append((length, os.path.relpath(f, src), m.group(7)))
                break


def sccs(nodes, graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


print(f"{len(files)} Rust files under src/")
print("files per top-level module:")
for m in sorted(per_module, key=lambda m: (-per_module[m], m)):
    print(f"  {m:<12} {per_module[m]}")
print(f"functions over 100 lines: {len(long_fns)}")
for length, f, name in sorted(long_fns, reverse=True):
    print(f"  {length:>4}  {f}  {name}")
cycles = sccs(modules, edges)
print(f"cycles between top-level modules: {len(cycles)}")
for c in cycles:
    n = sum(per_module[m] for m in c)
    print(f"  {len(c)} modules, {n} files: {' '.join(c)}")
