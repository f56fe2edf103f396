"""check_spec with the checks' cache: limits read the settings of each call, warnings are fresh."""

from collections.abc import Iterator

import pytest

from api.spec_checks import check_spec, parameter_count
from core.errors import SpecRejected
from core.settings import get_settings
from tests.helpers import moons_spec
from training.checks import FINDINGS
from training.spec import TrainingSpec


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    FINDINGS.clear()
    yield
    FINDINGS.clear()
    get_settings.cache_clear()


def _max_parameters(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setenv("GRADQ_MAX_PARAMETERS", str(limit))
    get_settings.cache_clear()


def test_a_cached_parameter_count_meets_the_current_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = TrainingSpec.model_validate(moons_spec())
    _max_parameters(monkeypatch, 17)
    check_spec(spec)
    assert len(FINDINGS) == 1
    _max_parameters(monkeypatch, 16)
    with pytest.raises(SpecRejected) as refused:
        check_spec(spec)
    assert str(refused.value).startswith("spec.model: the network has 17 parameters")
    assert "GRADQ_MAX_PARAMETERS = 16" in str(refused.value)
    _max_parameters(monkeypatch, 17)
    check_spec(spec)
    assert len(FINDINGS) == 1


def test_the_parameter_count_is_the_networks() -> None:
    spec = TrainingSpec.model_validate(moons_spec())
    assert parameter_count(spec) == (2 * 3 + 3) + (3 * 2 + 2)


def test_warnings_are_a_new_list_each_call() -> None:
    raw = moons_spec()
    raw["model"]["layers"].append({"type": "Softmax"})
    spec = TrainingSpec.model_validate(raw)
    first = check_spec(spec)
    assert any("applies it twice" in warning for warning in first)
    expected = list(first)
    first.clear()
    assert check_spec(spec) == expected
