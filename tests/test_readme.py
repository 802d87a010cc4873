"""The README's tour is code: run every ```python block in order, in one namespace, so it cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_readme_tour_runs(tmp_path: Path, monkeypatch: object) -> None:
    matplotlib.use("Agg")
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 3, "the README's tour has gone missing"
    monkeypatch.chdir(tmp_path)  # type: ignore[attr-defined]
    namespace: dict[str, object] = {"__name__": "readme_tour"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"README.md block {number}", "exec"), namespace)  # noqa: S102
