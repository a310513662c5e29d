"""A small YAML file that names a cross-study table (the paper's main table):

```yaml
title: "Ablations on URFC (test split)"
split: test                       # optional (test)
metrics: [accuracy, kappa]        # optional (accuracy, kappa)
studies:                          # in order; a section each
  - modality                      # titled by the study's description
  - {study: loss_variants, label: Loss variants}
  - {study: fusion, label: Fusion operators}
baseline: {study: modality, cell: {modality: fused}}   # optional: the first study's baseline
references:                       # optional: replace the studies' own
  - {label: "Cao et al. 2020 (reported, small set)", test_accuracy: 70.02}
seed_budget: true                 # optional: MDE and seeds needed per row (false)
target_delta: 1.0                 # optional: the seeds needed for 1 pp (default: observed |Δ|)
```
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import Field, ValidationError, field_validator
from sqlalchemy import Engine

from ablate.errors import NotFoundError, SpecError
from ablate.report._ablation import DEFAULT_METRICS
from ablate.report._collect import format_value
from ablate.report._cross import BaselineChoice, StudyPart, cross_study_table
from ablate.report._model import Table
from ablate.spec import Reference
from ablate.spec._base import Frozen
from ablate.spec._load import Loc, _dotted, _line_map, _line_of
from ablate.spec._names import suggest

Scalar = str | int | float | bool | None


class StudyEntry(Frozen):
    study: str
    label: str = ""


class BaselineEntry(Frozen):
    study: str
    cell: dict[str, Scalar] = Field(min_length=1)

    def choice(self) -> BaselineChoice:
        return BaselineChoice(
            self.study, tuple(f"{k}={format_value(v)}" for k, v in self.cell.items())
        )


class TableFile(Frozen):
    title: str = ""
    split: str | None = None
    metrics: list[str] | None = None
    studies: list[StudyEntry] = Field(min_length=1)
    baseline: BaselineEntry | None = None
    references: list[Reference] | None = None
    seed_budget: bool = False
    target_delta: float | None = Field(None, gt=0.0)

    @field_validator("studies", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        """A bare name is a study without a label."""
        if isinstance(value, list):
            return [{"study": v} if isinstance(v, str) else v for v in value]
        return value

    def parts(self) -> list[StudyPart]:
        return [StudyPart(s.study, s.label) for s in self.studies]


_MODELS = {
    "": TableFile,
    "studies": StudyEntry,
    "baseline": BaselineEntry,
    "references": Reference,
}


def _message(error: dict, where: str, lines: dict[Loc, int]) -> str:
    loc: Loc = tuple(error["loc"])
    at = f"{where}:{_line_of(loc, lines)}"
    if error["type"] == "extra_forbidden":
        parent = loc[:-1]
        model = _MODELS.get(str(parent[0]) if parent else "")
        fields = [f for f in model.model_fields] if model else []
        hint = suggest(str(loc[-1]), fields) or (
            f"; the keys are: {', '.join(fields)}." if fields else "."
        )
        return f"Unknown key '{loc[-1]}' at {_dotted(parent)} in {at}{hint}"
    if error["type"] == "missing":
        return f"Missing required key '{loc[-1]}' at {_dotted(loc[:-1])} in {at}."
    message = error["msg"].removeprefix("Value error, ")
    shown = error.get("input")
    got = f" (got {shown!r})" if not isinstance(shown, dict | list) and shown is not None else ""
    return f"Bad value at {_dotted(loc)} in {at}: {message}{got}."


def parse_table_file(text: str, *, where: str = "<table file>") -> TableFile:
    lines: dict[Loc, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _line_map(node, (), lines, where=where)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{where}{line} is not valid YAML: {problem}.") from None
    if not isinstance(data, dict):
        raise SpecError(
            f"{where} must be a YAML mapping with at least 'studies:' (a list of study names)."
        )
    try:
        return TableFile.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_message(exc.errors()[0], where, lines)) from None


def load_table_file(path: Path) -> TableFile:
    """Read and validate a table file (see the module docstring for its keys)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(
            f"Table file {path} does not exist; write one with 'studies:' (a list of study "
            "names), see 'ablate table --help'."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"Cannot read table file {path}: {exc}; save it as UTF-8 text.") from None
    return parse_table_file(text, where=str(path))


def file_table(
    engine: Engine,
    table_file: TableFile,
    *,
    split: str | None = None,
    metrics: tuple[str, ...] | None = None,
    baseline: BaselineChoice | None = None,
    seed_budget: bool = False,
    target_delta: float | None = None,
) -> Table:
    """The cross-study table a table file names; the keyword arguments (the command line)
    override the file's settings where given."""
    baseline = baseline or (table_file.baseline.choice() if table_file.baseline else None)
    target = target_delta if target_delta is not None else table_file.target_delta
    return cross_study_table(
        engine,
        table_file.parts(),
        baseline=baseline,
        split=split or table_file.split or "test",
        metrics=metrics or tuple(table_file.metrics or DEFAULT_METRICS),
        references=table_file.references,
        title=table_file.title,
        seed_budget=seed_budget or table_file.seed_budget,
        target_delta=target,
    )
