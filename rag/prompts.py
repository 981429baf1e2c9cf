"""Prompts are data in `prompts/*.txt` at the top of the repository (string.Template, `$name` placeholders), shipped
inside the package as `rag/data/prompts` (a link to that folder, whose files the wheel build copies); rendering is
strict both ways.

A missing variable or an unexpected one raises PromptError, so a renamed placeholder can never silently send a
prompt with a hole in it. Values are substituted once and never re-scanned, so `$` inside a passage is plain text.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from .errors import RagError
from .settings import PACKAGE_DIR

PROMPTS_DIR = PACKAGE_DIR / "data" / "prompts"  # prompts/, shipped inside the package


class PromptError(RagError):
    """A prompt template is missing, malformed, or was rendered with missing or unexpected variables."""


def prompt_names(directory: Path = PROMPTS_DIR) -> list[str]:
    """Names (file stems) of every prompt template."""
    return sorted(p.stem for p in directory.glob("*.txt"))


@lru_cache(maxsize=64)
def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> string.Template:
    """The template `prompts/<name>.txt`; raises PromptError when it is missing or has a bad placeholder."""
    path = directory / f"{name}.txt"
    try:
        template = string.Template(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise PromptError(f"找不到提示词模板 {name}", f"prompt template {path} cannot be read: {e}") from e
    if not template.is_valid():
        raise PromptError(f"提示词模板 {name} 格式错误", f"prompt template {path} has an invalid placeholder")
    return template


def prompt_variables(name: str, directory: Path = PROMPTS_DIR) -> set[str]:
    """The variables a template needs."""
    return set(load_prompt(name, directory).get_identifiers())


def render(name: str, directory: Path = PROMPTS_DIR, **values: object) -> str:
    """Render a prompt; every variable must be given and nothing else, or PromptError is raised."""
    template = load_prompt(name, directory)
    needed = set(template.get_identifiers())
    missing = sorted(needed - set(values))
    extra = sorted(set(values) - needed)
    if missing or extra:
        raise PromptError(
            f"提示词模板 {name} 的变量不匹配（缺少：{', '.join(missing) or '无'}；多余：{', '.join(extra) or '无'}）",
            f"prompt {name}: missing variables {missing}, unexpected variables {extra}",
        )
    return template.substitute({k: str(v) for k, v in values.items()})
