"""The documentation names every setting there is, and no setting that is not."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from conclave.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_configuration_doc_lists_every_setting() -> None:
    text = (ROOT / "docs/configuration.md").read_text()
    documented = set(re.findall(r"^\| `([a-z0-9_.]+)` \|", text, re.MULTILINE))
    assert documented == _keys(Settings)


def test_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:sh)?\n(.*?)```", text, re.DOTALL)
    assert blocks, "README has no command block"
    assert blocks[0].split() == ["make", "run"] and blocks[1].split() == ["make", "test"]
