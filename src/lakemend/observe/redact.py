"""Secrets never reach a log, a lineage event or a sink's error: :class:`Redactor` replaces every
secret lakemend may know of (and passwords in URLs) with ``***``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakemend.project.project import Project

MASK = "***"
AWS_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@", re.IGNORECASE)


def secrets_of(project: Project) -> list[str]:
    """Every secret value lakemend may know of: the masking key (env, file and yaml), the
    notify targets' tokens and the AWS secret keys in the environment."""
    config = project.config
    found = [os.environ.get(config.masking.key_env, ""), config.masking.key or ""]
    if config.masking.key_file:
        try:
            found.append((project.root / config.masking.key_file).read_text(encoding="utf-8").strip())
        except OSError:
            pass
    found += [os.environ.get(t.token_env, "") for t in config.notify if t.token_env]
    found += [os.environ.get(name, "") for name in AWS_SECRET_ENV]
    return [value.strip() for value in found if value and value.strip()]


@dataclass(frozen=True)
class Redactor:
    """Replaces known secrets (and passwords in URLs) with ``***`` in strings and nested values."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def for_project(cls, project: Project) -> Redactor:
        # Longest first, so a secret that contains another one is replaced whole.
        return cls(tuple(sorted(set(secrets_of(project)), key=len, reverse=True)))

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return URL_PASSWORD.sub(rf"\g<head>{MASK}@", value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set)):
            return [self.value(v) for v in value]
        return value


def redact(project: Project, text: str) -> str:
    """``text`` with every secret of the project replaced by ``***``."""
    return Redactor.for_project(project).text(text)
