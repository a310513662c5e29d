"""From a ``task:`` reference to a task object; the interface imports without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ablate._plugins import parse_ref
from ablate.errors import UsageError
from ablate.tasks import Task, load_task, task_of
from tests.conftest import REPO

TASKS = """\
from ablate.tasks import Task

class Mine(Task):
    def load(self, config, *, device, data_root): ...
    def build_model(self, config, *, num_classes, device): ...

class NeedsArgs(Mine):
    def __init__(self, width): ...

def train(config, trial): ...

NOT_A_TASK = 3
"""


@pytest.fixture
def tasks_file(tmp_path: Path) -> Path:
    path = tmp_path / "mytasks.py"
    path.write_text(TASKS)
    return path


def _load(tmp_path: Path, name: str):
    return load_task(parse_ref(f"mytasks.py:{name}", base=tmp_path, attribute=True))


def test_no_task_is_urfc() -> None:
    from ablate.tasks.urfc import URFC

    assert isinstance(load_task(None), URFC) and isinstance(task_of(None, base=REPO), Task)


def test_a_task_class_is_made(tmp_path: Path, tasks_file: Path) -> None:
    found = _load(tmp_path, "Mine")
    assert isinstance(found, Task) and type(found).__name__ == "Mine"


def test_a_function_is_a_loop_of_ones_own(tmp_path: Path, tasks_file: Path) -> None:
    assert callable(_load(tmp_path, "train")) and not isinstance(_load(tmp_path, "train"), Task)


def test_what_is_not_a_task_is_named(tmp_path: Path, tasks_file: Path) -> None:
    with pytest.raises(UsageError, match=r"mytasks.py:NOT_A_TASK is a int, not a task: name a "):
        _load(tmp_path, "NOT_A_TASK")
    with pytest.raises(UsageError, match=r"cannot be made without arguments"):
        _load(tmp_path, "NeedsArgs")


def test_the_interface_imports_without_torch() -> None:
    code = (
        "import sys, ablate.tasks, ablate.tasks._base; "
        "assert 'torch' not in sys.modules, 'ablate.tasks imported torch'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
