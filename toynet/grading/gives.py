"""What of toynet an assignment gives the student: an allowlist, checked when the assignment is built.

    "gives": ["toynet.params:dictionary_to_vector", "toynet.layers:Linear.forward", "toynet.datasets"]

An entry is `toynet.module` (its public names), `toynet.module:name` (one public top-level function, class or
constant) or `toynet.module:Class.method` (the class with only the listed methods, plus its dunders). An
entry naming a module, name or method that does not exist is an error that names the entry: a rename in
toynet's core is caught when the assignment is built, not by a class of students.

The student's copy of toynet holds exactly the given objects and the toynet code they need in order to run
(the *carried* names: the helpers and imports their bodies refer to, found by reading the source). Nothing
in one process can hide a function's helpers from code that holds the function (`f.__globals__`), so carried
names are reachable by a determined student (and importable by name): `carried` lists them, and the
assignment builder refuses gives that would hold, given or carried, anything named like what the notebook
asks students to write, then checks that the student copy still scores zero. Every other toynet module
exists only as a stub whose names raise an ImportError that says they are not given.

Only plain top-level statements are carried (def, class, assignment, import): a name bound inside a
module-level `if` or `try` is not, so a given object that needs one fails the build's solution check.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "toynet"
NEVER_GIVEN = ("toynet.grading",)
_NOT_GIVEN = "is not given in this assignment: toynet's reference is not available while grading, write your own"


class GivesError(ValueError):
    """A `gives` entry that does not name something toynet has (or that may never be given)."""


@dataclass
class _Module:
    """One toynet module's parsed source and its top-level bindings (name -> the statement that binds it)."""

    name: str
    path: Path
    tree: ast.Module
    bindings: dict[str, ast.stmt] = field(default_factory=dict)
    future_annotations: bool = False

    @property
    def public(self) -> list[str]:
        """`__all__` when the module lists it, else the names it defines or re-exports from toynet."""
        for node in self.tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                assert isinstance(node, ast.Assign)
                try:
                    return [str(name) for name in ast.literal_eval(node.value)]
                except ValueError:
                    break
        names = []
        for name, node in self.bindings.items():
            external = isinstance(node, ast.Import) or (
                isinstance(node, ast.ImportFrom) and not (node.module or "").startswith(PACKAGE)
            )
            if not name.startswith("_") and not external:
                names.append(name)
        return names


def _modules() -> dict[str, _Module]:
    """Every module of the installed toynet except the grader, parsed."""
    import toynet

    root = Path(toynet.__file__).resolve().parent
    modules = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        if "__pycache__" in relative.parts:
            continue
        name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        if any(name == n or name.startswith(n + ".") for n in NEVER_GIVEN):
            continue
        tree = ast.parse(path.read_text(), str(path))
        module = _Module(name, relative, tree)
        for node in tree.body:
            for bound in _bound_names(node):
                module.bindings.setdefault(bound, node)
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                module.future_annotations |= any(a.name == "annotations" for a in node.names)
        modules[name] = module
    return modules


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id]
    if isinstance(node, ast.ImportFrom) and node.module != "__future__":
        return [a.asname or a.name for a in node.names if a.name != "*"]
    if isinstance(node, ast.Import):
        return [a.asname or a.name.split(".")[0] for a in node.names]
    return []


def parse_gives(entries: object, modules: dict[str, _Module] | None = None) -> list[tuple[str, str | None]]:
    """Check every entry; return (module, qualname or None for the whole module). GivesError names the entry."""
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise GivesError(f"'gives' must be a list of strings like 'toynet.params:dictionary_to_vector', "
                         f"but got {entries!r:.200}")
    modules = _modules() if modules is None else modules
    parsed: list[tuple[str, str | None]] = []
    for entry in entries:
        module_name, _, qualname = entry.partition(":")
        if any(module_name == n or module_name.startswith(n + ".") for n in NEVER_GIVEN):
            raise GivesError(f"gives entry {entry!r}: {module_name} is the grader and is never given")
        if module_name not in modules:
            raise GivesError(f"gives entry {entry!r}: toynet has no module {module_name!r} "
                             f"(modules: {', '.join(sorted(modules))})")
        module = modules[module_name]
        if not qualname:
            parsed.append((module_name, None))
            continue
        first, *rest = qualname.split(".")
        if first.startswith("_") or any(part.startswith("_") for part in rest):
            raise GivesError(f"gives entry {entry!r}: give public names only (what they need is carried)")
        node = module.bindings.get(first)
        if node is None:
            raise GivesError(f"gives entry {entry!r}: {module_name} has no top-level name {first!r}")
        if rest:
            methods = _methods(node) if isinstance(node, ast.ClassDef) else {}
            if len(rest) > 1 or rest[0] not in methods:
                raise GivesError(f"gives entry {entry!r}: {module_name}.{first} has no method {'.'.join(rest)!r}")
        parsed.append((module_name, qualname))
    return parsed


def _methods(node: ast.ClassDef) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {s.name: s for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _references(node: ast.AST, skip_annotations: bool) -> set[str]:
    """Names a statement reads (over-approximated: a local that shadows a global still counts)."""
    names: set[str] = set()

    def visit(item: ast.AST) -> None:
        if skip_annotations:
            if isinstance(item, ast.arg):
                return
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                parts: list[ast.AST | None] = [*item.decorator_list, *item.args.defaults, *item.args.kw_defaults]
                for part in [*parts, *item.body]:
                    if part is not None:
                        visit(part)
                return
            if isinstance(item, ast.AnnAssign):
                if item.value is not None:
                    visit(item.value)
                return
        if isinstance(item, ast.Name):
            names.add(item.id)
        for child in ast.iter_child_nodes(item):
            visit(child)

    visit(node)
    return names


@dataclass
class StudentToynet:
    """The student's toynet: {relative path: source}, and the names carried beyond those given."""

    files: dict[str, str]
    given: list[str]
    carried: list[str]


def build_student_toynet(gives: Sequence[str]) -> StudentToynet:
    """Carve toynet down to what `gives` lists plus what that needs; stub everything else."""
    modules = _modules()
    entries = parse_gives(list(gives), modules)
    # module -> {name: None (the whole object) or the set of methods kept of a class}
    kept: dict[str, dict[str, set[str] | None]] = {}
    given: set[tuple[str, str]] = set()  # top-level names given (not carried)
    shown: list[str] = []  # the given names as the entries spell them
    work: list[tuple[str, str, str | None]] = []  # (module, top-level name, method or None)
    for module_name, qualname in entries:
        if qualname is None:
            work += [(module_name, name, None) for name in modules[module_name].public]
            given |= {(module_name, name) for name in modules[module_name].public}
            shown += [f"{module_name}:{name}" for name in modules[module_name].public]
        else:
            first, _, method = qualname.partition(".")
            work.append((module_name, first, method or None))
            given.add((module_name, first))
            shown.append(f"{module_name}:{qualname}")
    while work:
        where, name, wanted = work.pop()
        node = modules[where].bindings.get(name)
        if node is None:  # e.g. a name in __all__ that the module does not bind: nothing to carry
            continue
        have = kept.setdefault(where, {})
        held = have.get(name, set())
        if name in have and (held is None or (wanted is not None and wanted in held)):
            continue
        if isinstance(node, ast.ClassDef) and wanted is not None and held is not None:
            have[name] = _close_methods(node, held | {wanted})
        else:
            have[name] = None
        work += _dependencies(modules[where], modules, node, name, have[name])
    files = {str(m.path): _render(m, kept.get(m.name), modules) for m in modules.values()}
    carried = sorted(
        f"{module}:{name}" for module, names in kept.items() for name in names
        if (module, name) not in given and not isinstance(modules[module].bindings[name], (ast.Import, ast.ImportFrom))
    )
    return StudentToynet(files, sorted(set(shown)), carried)


def student_toynet(gives: Sequence[str] = ()) -> dict[str, str]:
    """The sources of toynet as the student process sees them: {relative path: source}."""
    return build_student_toynet(gives).files


def _close_methods(node: ast.ClassDef, methods: set[str]) -> set[str]:
    """The methods kept of a class: the given ones, every dunder, and any method they refer to by attribute."""
    available = _methods(node)
    keep = {m for m in available if m.startswith("__") and m.endswith("__")} | methods
    while True:
        attributes = {
            a.attr for m in keep for a in ast.walk(available[m]) if isinstance(a, ast.Attribute)
        }
        grown = keep | (attributes & set(available))
        if grown == keep:
            return keep
        keep = grown


def _dependencies(
    module: _Module, modules: dict[str, _Module], node: ast.stmt, name: str, methods: set[str] | None
) -> list[tuple[str, str, str | None]]:
    """What keeping `name` (bound by `node`) needs: top-level names of its module, or of another toynet module."""
    if isinstance(node, ast.ImportFrom):
        source = node.module or ""
        alias = next(a for a in node.names if (a.asname or a.name) == name)
        if not source.startswith(PACKAGE):
            return []
        submodule = f"{source}.{alias.name}"
        if submodule in modules:  # `from toynet import datasets`: the whole module
            return [(submodule, n, None) for n in modules[submodule].public]
        return [(source, alias.name, None)] if source in modules else []
    if isinstance(node, ast.Import):
        alias = next(a for a in node.names if (a.asname or a.name.split(".")[0]) == name)
        if alias.name in modules:
            return [(alias.name, n, None) for n in modules[alias.name].public]
        return []
    parts: list[ast.AST] = [node]
    if isinstance(node, ast.ClassDef) and methods is not None:
        parts = [*node.decorator_list, *node.bases, *node.keywords,
                 *(s for s in node.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))),
                 *(s for s in _methods(node).values() if s.name in methods)]
    names: set[str] = set()
    for part in parts:
        names |= _references(part, module.future_annotations)
    return [(module.name, n, None) for n in sorted(names) if n in module.bindings and n != name]


def _render(module: _Module, kept: dict[str, set[str] | None] | None, modules: dict[str, _Module]) -> str:
    """The student's source of one module: the kept statements in their order, then the not-given stub."""
    lines = [f'"""{module.name} as this assignment gives it (everything else {_NOT_GIVEN.split(":")[0]})."""']
    if module.future_annotations:
        lines.append("from __future__ import annotations")
    for node in module.tree.body:
        bound = [n for n in _bound_names(node) if kept and n in kept]
        if not bound:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a for a in node.names if (a.asname or a.name.split(".")[0]) in bound]
            node = ast.ImportFrom(node.module, names, node.level) if isinstance(node, ast.ImportFrom) \
                else ast.Import(names)
        elif isinstance(node, ast.ClassDef) and kept and (methods := kept[node.name]) is not None:
            body = [s for s in node.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                    or s.name in methods]
            node = copy.copy(node)
            node.body = body or [ast.Pass()]
        lines.append(ast.unparse(ast.fix_missing_locations(node)))
    submodules = sorted(n.rsplit(".", 1)[1] for n in modules if n.rsplit(".", 1)[0] == module.name and "." in n)
    lines.append(_stub_getattr(module.name, submodules))
    return "\n\n".join(lines) + "\n"


def _stub_getattr(module_name: str, submodules: Iterable[str]) -> str:
    return f'''def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name in {sorted(submodules)!r}:
        import importlib
        return importlib.import_module(__name__ + "." + name)
    raise ImportError(f"{module_name}.{{name}} {_NOT_GIVEN}")'''
