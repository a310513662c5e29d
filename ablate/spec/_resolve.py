"""From a study to its trials: dotted-path overrides, grid cells, resolved trial configs."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any, Literal, get_origin

from pydantic import BaseModel, Field, ValidationError

from ablate.spec._adaptive import AdaptiveProblem, check_adaptive, seed_sequence
from ablate.spec._base import Frozen
from ablate.spec._data import DataSpec
from ablate.spec._model import LossSpec, ModelSpec
from ablate.spec._names import suggest
from ablate.spec._study import OVERRIDABLE_SECTIONS, ObjectiveSpec, Scalar, StudySpec
from ablate.spec._train import TrainSpec


class SpecPathError(ValueError):
    """A semantic problem at a location (a tuple like ('grid', 'model.fusion', 2))."""

    def __init__(
        self, loc: tuple[str | int, ...], message: str, *, error: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.error = error  # the pydantic error behind it, for its own wording


class TrialConfig(Frozen):
    """Everything one trial needs, fully resolved; stored in the database and in checkpoints."""

    study: str
    data: DataSpec
    model: ModelSpec
    loss: LossSpec
    train: TrainSpec
    objective: ObjectiveSpec
    seed: int
    cell: dict[str, Scalar] = Field(default_factory=dict)
    params: dict[str, Scalar] = Field(default_factory=dict)
    code: dict[str, str] = Field(default_factory=dict)  # plugin/task -> its fingerprint
    task: str | None = None  # the study's task reference, as written (None: URFC)
    # '' for a study's own runs; 'confirm' for a search's confirmation runs, which train a
    # configuration the search tried again: a run of its own, never the search trial
    phase: Literal["", "confirm"] = ""

    @property
    def run_key(self) -> str:
        """The run's identity: a hash of what it trains (config + seed), not its trial number.

        Settings left at their defaults are not part of the hash, so a later version of ablate
        that adds a setting (with a default) still recognises the runs an older one finished.
        """
        payload = self.model_dump(
            mode="json",
            include={"data", "model", "loss", "train", "seed", "code", "task", "phase"},
            exclude_defaults=True,
        )  # user code (its fingerprints) is part of what a run trains
        payload["seed"] = self.seed  # always part of the identity, even when 0
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def cell_key(cell: dict[str, Scalar]) -> str:
    """A canonical text for a grid cell, used to group seeds into one table row."""
    return json.dumps(cell, sort_keys=True, separators=(",", ":"))


def cell_text(values: dict[str, Scalar]) -> str:
    """'fusion=sum, deep_supervision=0.3127' for logs and live views (short names, 4 digits)."""
    parts = []
    for path, value in values.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        parts.append(f"{path.split('.')[-1]}={shown}")
    return ", ".join(parts) or "(base)"


def backbones_reached(spec: StudySpec) -> dict[str, str]:
    """Every timm backbone name a run of the study can build, with where it is set: the
    scheduler has them checked before anything trains (a typo must not fail run after run)."""
    configs = (
        grid_trials(spec)
        if spec.search is None
        else [resolve(spec, seed=spec.seeds[0], cell=cell) for cell in grid_cells(spec)]
    )
    names: dict[str, str] = {}
    for config in configs:
        used = []
        if config.model.modality != "social":
            used.append(("model.image.backbone", config.model.image.backbone))
        if config.model.modality != "rs" and config.model.visit.branch == "timm":
            used.append(("model.visit.backbone", config.model.visit.backbone))
        for path, name in used:
            names.setdefault(name, f"grid['{path}']" if path in config.cell else path)
    for path, param in spec.search.params.items() if spec.search else ():
        if path.endswith(".backbone") and param.choices:
            for choice in param.choices:
                names.setdefault(str(choice), f"search.params['{path}']")
    return names


def check_path(path: str, loc: tuple[str | int, ...]) -> None:
    """Raise SpecPathError unless ``path`` names a field of data/model/loss/train."""
    parts = path.split(".")
    sections = {"data": DataSpec, "model": ModelSpec, "loss": LossSpec, "train": TrainSpec}
    if parts[0] not in sections:
        raise SpecPathError(
            loc,
            f"Unknown setting '{path}'{suggest(parts[0], OVERRIDABLE_SECTIONS)} "
            f"A grid or search key starts with one of: {', '.join(OVERRIDABLE_SECTIONS)}.",
        )
    model: type[BaseModel] = sections[parts[0]]
    for depth, part in enumerate(parts[1:], start=1):
        fields = model.model_fields
        if part not in fields:
            where = ".".join(parts[:depth])
            raise SpecPathError(
                loc,
                f"Unknown setting '{path}': '{where}' has no field '{part}'"
                f"{suggest(part, list(fields)) or '.'}",
            )
        annotation = fields[part].annotation
        if get_origin(annotation) is dict:  # a component's options (model.fusion_options.x):
            return  # its keys are checked where the plugins are imported (ablate.models)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif depth < len(parts) - 1:
            raise SpecPathError(loc, f"Unknown setting '{path}': '{part}' has no sub-fields.")


def _set_dotted(tree: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def resolve(
    spec: StudySpec,
    *,
    seed: int,
    cell: dict[str, Scalar],
    params: dict[str, Scalar] | None = None,
    phase: Literal["", "confirm"] = "",
) -> TrialConfig:
    """The trial config for one grid cell (and searched values) at one seed."""
    params = params or {}
    tree = spec.model_dump(mode="json", include=set(OVERRIDABLE_SECTIONS) | {"objective"})
    for path, value in {**cell, **params}.items():
        _set_dotted(tree, path, value)
    return TrialConfig.model_validate(
        {
            **tree,
            "study": spec.name,
            "seed": seed,
            "cell": cell,
            "params": params,
            "code": dict(spec.code),
            "task": spec.task,
            "phase": phase,
        }
    )


def grid_cells(spec: StudySpec) -> list[dict[str, Scalar]]:
    """Every combination of the grid's factor values, in file order ([{}] without a grid)."""
    keys = list(spec.grid)
    return [
        dict(zip(keys, combo, strict=True)) for combo in itertools.product(*spec.grid.values())
    ]


def grid_trials(spec: StudySpec) -> list[TrialConfig]:
    """Cells × seeds for a grid study, cell-major so early results cover every cell."""
    return [resolve(spec, seed=s, cell=c) for s in spec.seeds for c in grid_cells(spec)]


def reachable_trials(spec: StudySpec) -> list[TrialConfig]:
    """Every run the study may train, seed-major: ``grid_trials``, and with adaptive_seeds
    each extra seed up to max_seeds (which of them train, the looks decide)."""
    if spec.adaptive_seeds is None:
        return grid_trials(spec)
    cells = grid_cells(spec)
    return [resolve(spec, seed=s, cell=c) for s in seed_sequence(spec) for c in cells]


def baseline_of(spec: StudySpec, cell: dict[str, Scalar]) -> dict[str, Scalar] | None:
    """The cell a row is compared with: itself with the baseline's factor values."""
    return None if spec.baseline is None else {**cell, **spec.baseline}


def check_semantics(spec: StudySpec) -> None:
    """Checks that need the whole study: grid paths and values, baseline, search params."""
    for path, values in spec.grid.items():
        check_path(path, ("grid", path))
        if not values:
            raise SpecPathError(("grid", path), f"grid factor '{path}' lists no values")
        for index, value in enumerate(values):
            try:
                resolve(spec, seed=spec.seeds[0], cell={path: value})
            except ValidationError as exc:
                error = exc.errors()[0]
                raise SpecPathError(
                    ("grid", path, index),
                    f"Bad value {value!r} for '{path}': {error['msg']}",
                    error={**error, "loc": ("grid", path, index)},
                ) from None
    if spec.search is not None:
        for path in spec.search.params:
            check_path(path, ("search", "params", path))
            if path in spec.grid:
                raise SpecPathError(
                    ("search", "params", path),
                    f"'{path}' is both a grid factor and a searched parameter; keep one",
                )
    _check_baseline(spec)
    try:
        check_adaptive(spec)
    except AdaptiveProblem as exc:
        raise SpecPathError(exc.loc, exc.message) from None


def _check_baseline(spec: StudySpec) -> None:
    """A baseline names grid values; with ``search.confirm`` it also fixes every searched
    parameter (the configuration the confirmed ones are compared with)."""
    searched = spec.search.params if spec.search is not None else {}
    confirm = spec.search.confirm if spec.search is not None else None
    for path, value in (spec.baseline or {}).items():
        if path in searched:
            _check_searched_baseline(spec, path, value, confirmed=confirm is not None)
            continue
        if path not in spec.grid:
            what = "a grid factor or searched parameter" if confirm else "a grid factor"
            raise SpecPathError(
                ("baseline", path),
                f"baseline names '{path}', which is not {what}"
                f"{suggest(path, [*spec.grid, *searched]) or '.'}",
            )
        if value not in spec.grid[path]:
            raise SpecPathError(
                ("baseline", path),
                f"baseline value {value!r} for '{path}' is not in the grid {spec.grid[path]}",
            )
    missing = [path for path in searched if path not in (spec.baseline or {})]
    if confirm is not None and missing:
        example = ", ".join(f"{path}: …" for path in missing)
        raise SpecPathError(
            ("baseline",) if spec.baseline is not None else ("search", "confirm"),
            "search.confirm compares the confirmed configurations with the baseline, which "
            f"needs a value for every searched parameter: add {example} to baseline "
            "(e.g. the setting without the searched terms)",
        )


def _check_searched_baseline(
    spec: StudySpec, path: str, value: Scalar, *, confirmed: bool
) -> None:
    if not confirmed:
        raise SpecPathError(
            ("baseline", path),
            f"baseline names the searched parameter '{path}', which only search.confirm "
            "uses (it compares the best configurations with the baseline over every seed); "
            "add confirm: {top_k: 3} to the search, or drop it from the baseline",
        )
    try:
        resolve(spec, seed=spec.seeds[0], cell={}, params={path: value})
    except ValidationError as exc:
        error = exc.errors()[0]
        raise SpecPathError(
            ("baseline", path),
            f"Bad value {value!r} for '{path}': {error['msg']}",
            error={**error, "loc": ("baseline", path)},
        ) from None
