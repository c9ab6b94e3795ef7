"""Modules over ~500 lines and functions over ~80 lines in a package (issue 13's "Done when"), longest first.

A long function may stay long when its docstring says why: the listing shows each one's docstring's first line so
a reader can judge. Usage: python scripts/sizes.py [ingest] [--module-lines 500] [--function-lines 80]
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path


def long_modules(root: Path, limit: int) -> list[tuple[int, str]]:
    sizes = [(len(p.read_text(encoding="utf-8").splitlines()), str(p)) for p in sorted(root.rglob("*.py"))]
    return sorted((s for s in sizes if s[0] > limit), reverse=True)


def long_functions(root: Path, limit: int) -> list[tuple[int, str, str]]:
    """(lines, path:line qualified name, docstring's first line) of every function longer than `limit`."""
    out: list[tuple[int, str, str]] = []
    for path in sorted(root.rglob("*.py")):
        stack: list[tuple[ast.AST, str]] = [(ast.parse(path.read_text(encoding="utf-8")), "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    stack.append((child, prefix))
                    continue
                name = f"{prefix}{child.name}"
                stack.append((child, name + "."))
                if isinstance(child, ast.ClassDef):
                    continue
                lines = (child.end_lineno or child.lineno) - child.lineno + 1
                if lines > limit:
                    doc = (ast.get_docstring(child) or "").split("\n", 1)[0]
                    out.append((lines, f"{path}:{child.lineno} {name}", doc))
    return sorted(out, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("root", nargs="?", default="ingest")
    parser.add_argument("--module-lines", type=int, default=500)
    parser.add_argument("--function-lines", type=int, default=80)
    args = parser.parse_args()
    root = Path(args.root)
    print(f"modules over {args.module_lines} lines:")
    for lines, path in long_modules(root, args.module_lines):
        print(f"  {lines:5d}  {path}")
    print(f"functions over {args.function_lines} lines:")
    for lines, where, doc in long_functions(root, args.function_lines):
        print(f"  {lines:5d}  {where}" + (f"  ({doc})" if doc else ""))


if __name__ == "__main__":
    main()
