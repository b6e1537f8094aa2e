"""Two rules of shape, kept for code not written yet (docs/architecture.md):

- a services module never imports its app's tasks module (services enqueue tasks by
  name through ``core.events.enqueue_on_commit``; tasks import services), so the two
  never form an import cycle;
- no module of the project (outside migrations, tests and ``bench/``) is over 700
  lines: past that it becomes a package by area, as ``chats/services/`` and
  ``payments/models/`` are.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 700


def _services_modules(app: Path) -> list[Path]:
    single = app / "services.py"
    return [single] if single.exists() else sorted((app / "services").glob("*.py"))


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


APPS = sorted(p.parent for p in ROOT.glob("*/tasks.py"))


@pytest.mark.parametrize("app", APPS, ids=lambda p: p.name)
def test_services_never_import_their_tasks(app):
    tasks = f"{app.name}.tasks"
    offenders = [
        str(path.relative_to(ROOT)) for path in _services_modules(app) if tasks in _imported(path)
    ]
    assert offenders == [], f"enqueue by name (core.events.enqueue_on_commit): {offenders}"


def test_no_module_is_over_700_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in ROOT.glob("*/**/*.py")
        if path.parts[len(ROOT.parts)] not in {".venv", "var", "bench", "tests", "node_modules"}
        and "migrations" not in path.parts
        and "tests" not in path.parts
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
