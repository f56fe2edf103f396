"""The README's JSON examples are valid specs (and schedule specs), so the docs cannot rot."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from training.checks import static_problems
from training.spec import TrainingSpec
from training.spec.schedulers import SchedulerSpec

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```json\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.split("\n")[0][:40])
def test_readme_example_is_valid(block: str) -> None:
    example: dict[str, Any] = json.loads(block)
    if "dataset" not in example:
        TypeAdapter(SchedulerSpec).validate_python(example)
        return
    spec = TrainingSpec.model_validate(example)
    assert [p for p in static_problems(spec) if p.blocking] == []
