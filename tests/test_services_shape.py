"""Two rules of shape, kept for code not written yet (docs/architecture.md):

- a services module never imports its app's tasks module (services enqueue tasks by
  name through ``core.events.enqueue_on_commit``; tasks import services), so the two
  never form an import cycle;
- no module of ``chats`` (outside migrations and tests) is over 700 lines: past that
  it becomes a package by area, as ``chats/services/`` is.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Apps whose services still import their tasks (issue #17, item 5: being moved to
# names too). Empty it as they go; an app that is clean must stay clean.
NOT_YET = {"core", "payments"}
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


APPS = sorted(p.parent for p in ROOT.glob("*/tasks.py") if p.parent.name not in NOT_YET)


@pytest.mark.parametrize("app", APPS, ids=lambda p: p.name)
def test_services_never_import_their_tasks(app):
    tasks = f"{app.name}.tasks"
    offenders = [
        str(path.relative_to(ROOT)) for path in _services_modules(app) if tasks in _imported(path)
    ]
    assert offenders == [], f"enqueue by name (core.events.enqueue_on_commit): {offenders}"


def test_no_chats_module_is_over_700_lines():
    chats = ROOT / "chats"
    long = {
        str(path.relative_to(ROOT)): n
        for path in chats.rglob("*.py")
        if "migrations" not in path.parts and "tests" not in path.parts
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
