"""The CLI's shape: app.py wires the command modules; a command module imports only the shared
context, options and output (and the library), never app.py or another command module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLI = Path(__file__).parents[2] / "src" / "lakemend" / "cli"
SHARED = {"context", "options", "output"}
WIRING = {"app", "__init__"}


def cli_imports(path: Path) -> set[str]:
    """The ``lakemend.cli`` modules a file imports (at the top or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "lakemend.cli":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("lakemend.cli."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("lakemend.cli.")}
    return found


MODULES = sorted(p.stem for p in CLI.glob("*.py"))


@pytest.mark.parametrize("module", [m for m in MODULES if m not in WIRING])
def test_a_cli_module_imports_only_the_shared_modules(module: str) -> None:
    imported = cli_imports(CLI / f"{module}.py")
    allowed = SHARED - {module}
    assert imported <= allowed, f"cli/{module}.py imports {sorted(imported - allowed)}"


def test_app_wires_every_command_module() -> None:
    commands = {m for m in MODULES if m not in SHARED | WIRING}
    assert commands <= cli_imports(CLI / "app.py")


def test_the_library_never_prompts() -> None:
    library = Path(__file__).parents[2] / "src" / "lakemend"
    prompting = [str(p.relative_to(library)) for p in library.rglob("*.py")
                 if "cli" not in p.relative_to(library).parts and "typer" in p.read_text(encoding="utf-8")]
    assert prompting == []
