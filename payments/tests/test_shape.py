"""The shape of the payments app, kept for code not written yet (docs/architecture.md):

- no module is over 700 lines (outside migrations and tests): past that it becomes a
  package by area, as ``models/``, ``services/``, ``views/``, ``api/``,
  ``serializers/`` and ``forms/`` are;
- the module-level imports between payments' own modules form no cycle (a services
  module enqueues tasks by name instead of importing ``payments.tasks``; the order
  page sits below ``views/orders`` and ``views/shipping``). An import that a cycle
  forces goes inside the function, with a comment saying why.
"""

import ast
from pathlib import Path

from django.conf import settings

APP = Path(settings.BASE_DIR) / "payments"
MAX_LINES = 700


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(APP.rglob("*.py")):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        if "migrations" in parts or "tests" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _top_level_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The payments modules ``path`` imports when it is imported (module level only;
    ``from package import name`` counts ``package.name`` when that is a module)."""
    targets = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets.add(node.module)
            targets |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {t for t in targets if t in modules}


def test_no_payments_module_is_over_700_lines():
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_import_cycle_inside_payments():
    modules = _modules()
    graph = {name: _top_level_imports(path, modules) - {name} for name, path in modules.items()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append(" → ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_services_never_import_the_tasks():
    modules = _modules()
    offenders = [
        name
        for name, path in modules.items()
        if name.startswith("payments.services")
        and "payments.tasks" in _top_level_imports(path, modules)
    ]
    assert offenders == []
