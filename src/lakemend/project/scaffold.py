"""``lakemend init``: copy an example project (and the runbook's scripts) into a folder."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from importlib import resources
from pathlib import Path

from lakemend.errors import UsageError

EXAMPLES = ("company",)
EXAMPLE_START = dt.date(2025, 10, 20)
EXAMPLE_END = dt.date(2025, 10, 27)
GITIGNORE = """# lakemend: data, state and secrets stay out of git
lake/
landing/
.lakemend/
"""


def examples_root() -> Path:
    return Path(str(resources.files("lakemend") / "examples"))


def init_project(target: Path, example: str, *, force: bool = False) -> Path:
    if example not in EXAMPLES:
        raise UsageError(f"unknown example {example!r}", f"available: {', '.join(EXAMPLES)}")
    target = target.resolve()
    if (target / "lakemend.yaml").exists() and not force:
        raise UsageError(f"{target} already holds a lakemend project", "choose another folder or pass --force to overwrite its files")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file", "choose a folder")
    root = examples_root()
    shutil.copytree(root / example, target, dirs_exist_ok=True)
    scripts = target / "aws" / "scripts"
    shutil.copytree(root / "aws" / "scripts", scripts, dirs_exist_ok=True)
    for script in scripts.glob("*.sh"):
        script.chmod(0o755)
    state = target / ".lakemend"
    state.mkdir(exist_ok=True)
    key = state / "mask.key"
    if not key.exists():
        key.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
        key.chmod(0o600)
    ignore = target / ".gitignore"
    if not ignore.exists():
        ignore.write_text(GITIGNORE, encoding="utf-8")
    return target
