"""Property tests: whatever the file says, the experiment, game-day and monkey loaders give problems, never a traceback."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzzing import HOSTILE_VALUES, mutate
from chaoskit.errors import ExperimentInvalid
from chaoskit.model.loader import parse_experiment
from chaoskit.schedule.gameday import load_gameday
from chaoskit.schedule.monkey_config import parse_monkey_config

EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"
SHIPPED = sorted(p for p in EXPERIMENTS.glob("*.yaml") if p.name not in ("gameday.yaml", "monkey.yaml"))
BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40), st.sampled_from(HOSTILE_VALUES),
)
trees = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=20)
TOP_KEYS = ("title", "description", "environment", "phases", "load", "steady_state", "method", "rollbacks",
            "stop_conditions", "variables", "seed")


def _parses_or_refuses(load, text: str) -> None:
    try:
        load(text)
    except ExperimentInvalid as exc:
        assert exc.problems, "refused without saying why"


@BOUNDED
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 6), which=st.sampled_from(SHIPPED))
def test_mutated_experiments_give_problems_not_tracebacks(seed: int, count: int, which: Path) -> None:
    """A shipped experiment with random mutations loads or is refused with problems."""
    _parses_or_refuses(lambda text: parse_experiment(text, source="f.yaml"),
                       mutate(which.read_text(), random.Random(seed), count))


@BOUNDED
@given(parts=st.dictionaries(st.sampled_from(TOP_KEYS), trees, max_size=6))
def test_arbitrary_trees_give_problems_not_tracebacks(parts: dict) -> None:
    """Any YAML tree in any top-level key is refused with problems (or loads)."""
    _parses_or_refuses(lambda text: parse_experiment(text, source="f.yaml"), yaml.safe_dump(parts))


@BOUNDED
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 6))
def test_mutated_monkey_configs_give_problems_not_tracebacks(seed: int, count: int) -> None:
    """The shipped monkey config with random mutations loads or is refused with problems."""
    text = (EXPERIMENTS / "monkey.yaml").read_text()
    _parses_or_refuses(lambda t: parse_monkey_config(t, source="m.yaml"), mutate(text, random.Random(seed), count))


@pytest.fixture(scope="module")
def gameday_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gameday")


@BOUNDED
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 6))
def test_mutated_gamedays_give_problems_not_tracebacks(gameday_dir: Path, seed: int, count: int) -> None:
    """The shipped game day with random mutations loads or is refused with problems."""
    path = gameday_dir / "gameday.yaml"

    def load(text: str) -> object:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return load_gameday(path)

    _parses_or_refuses(load, mutate((EXPERIMENTS / "gameday.yaml").read_text(), random.Random(seed), count))
