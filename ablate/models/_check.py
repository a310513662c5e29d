"""Checking every component a study names against the registries, plugins imported.

``ablate.spec`` cannot do it: it never imports torch or user code. The dry run does it in
its own process and ``ablate run`` in a worker's preflight, before anything is written.
Each problem says where in the study file the value came from: the fixed setting, a grid
factor's value (``('grid', 'model.fusion', 2)``) or a searched choice, so that the message
names the file's line as the spec's own errors do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import ValidationError

from ablate._plugins import CodeRef, import_ref
from ablate.models._fusion_base import FUSIONS
from ablate.models._image import IMAGE_BRANCHES
from ablate.models._loss import _NEEDS, LOSS_TERMS
from ablate.models._options import option_problem
from ablate.models._registry import Component, Registry, unknown_name
from ablate.models._visit import VISIT_BRANCHES
from ablate.spec import Problem, StudySpec, TrialConfig, grid_cells, resolve
from ablate.spec._names import Loc, suggest

REGISTRIES: tuple[Registry[Any], ...] = (IMAGE_BRANCHES, VISIT_BRANCHES, FUSIONS, LOSS_TERMS)


def import_plugins(refs: Iterable[CodeRef]) -> None:
    """Import each plugin once per process (``import_ref``); a plugin that fails half-way
    leaves nothing registered, so that the one-line error is the same on a retry."""
    for ref in refs:
        saved = [registry.snapshot() for registry in REGISTRIES]
        try:
            import_ref(ref)
        except BaseException:
            for registry, snapshot in zip(REGISTRIES, saved, strict=True):
                registry.restore(snapshot)
            raise


def _variants(spec: StudySpec) -> Iterator[tuple[TrialConfig, dict[str, Loc]]]:
    """Every config the study can train (one seed), with where each overridden value is
    written: grid cells, and each searched choice and range end on its own."""
    seed = spec.seeds[0]
    for cell in grid_cells(spec):
        origin: dict[str, Loc] = {p: ("grid", p, spec.grid[p].index(v)) for p, v in cell.items()}
        yield resolve(spec, seed=seed, cell=cell), origin
    for path, param in spec.search.params.items() if spec.search else ():
        values = (
            [(v, ("choices", i)) for i, v in enumerate(param.choices)]
            if param.choices is not None
            else [(param.low, ("low",)), (param.high, ("high",))]
        )
        for value, at in values:
            try:
                config = resolve(spec, seed=seed, cell={}, params={path: value})
            except ValidationError:
                continue  # the spec checks the types of searched values
            yield config, {path: ("search", "params", path, *at)}


def _at(origin: dict[str, Loc], path: str) -> Loc:
    return origin.get(path) or tuple(path.split("."))


def _option_problems(
    component: Component[Any], values: dict[str, Any], origin: dict[str, Loc], at: str
) -> list[Problem]:
    try:
        component.validate(values)
    except ValidationError as exc:
        found = []
        for error in exc.errors():
            key, head, tail = option_problem(component, error)
            path = f"{at}.{key}" if key else at
            loc = origin.get(path) or (
                tuple(at.split(".")) if head.startswith(("Unknown", "Missing")) else _at({}, path)
            )
            found.append(Problem(loc, head, tail))
        return found
    return []


def _named(
    registry: Registry[Any], name: str, path: str, origin: dict[str, Loc]
) -> Component[Any] | Problem:
    if name in registry:
        return registry.component(name)
    return Problem(_at(origin, path), *unknown_name(registry, name))


def _branch_problems(config: TrialConfig, origin: dict[str, Loc]) -> Iterator[Problem]:
    model = config.model
    sections = []
    if model.modality != "social":
        sections.append((IMAGE_BRANCHES, model.image.branch, "model.image", model.image.options))
    if model.modality != "rs":
        sections.append((VISIT_BRANCHES, model.visit.branch, "model.visit", model.visit.options))
    for registry, name, section, options in sections:
        found = _named(registry, name, f"{section}.branch", origin)
        if isinstance(found, Problem):
            yield found
        else:
            yield from _option_problems(found, options, origin, f"{section}.options")


def _fusion_problems(
    configs: list[tuple[TrialConfig, dict[str, Loc]]],
) -> Iterator[Problem]:
    """Fusion names; each fusion's own keys of ``model.fusion_options`` typed; and every key
    taken by at least one fusion the study reaches (a grid over fusions sets several's)."""
    takes: dict[str, Component[Any]] = {}
    for config, origin in configs:
        if config.model.modality != "fused":
            continue
        found = _named(FUSIONS, config.model.fusion, "model.fusion", origin)
        if isinstance(found, Problem):
            yield found
            continue
        takes[found.info.name] = found
        mine = {k: v for k, v in config.model.fusion_options.items() if k in found.option_names}
        yield from _option_problems(found, mine, origin, "model.fusion_options")
    known = sorted({key for c in takes.values() for key in c.option_names})
    for config, origin in configs:
        for key in config.model.fusion_options:
            if key in known or not takes:
                continue
            path = f"model.fusion_options.{key}"
            loc = origin.get(path) or ("model", "fusion_options")
            only = ", ".join(f"'{n}'" for n in takes)
            hint = suggest(key, known) or (
                f"; the fusions this study uses ({only}) take "
                + (f"only {', '.join(known)}." if known else "no options.")
            )
            yield Problem(loc[:2] if loc[0] == "grid" else loc, f"Unknown key '{key}'", hint)


def _loss_problems(config: TrialConfig, origin: dict[str, Loc]) -> Iterator[Problem]:
    for name, values in config.loss.terms.items():
        found = _named(LOSS_TERMS, name, f"loss.terms.{name}", origin)
        if isinstance(found, Problem):
            yield Problem(("loss", "terms", name), found.head, found.tail)
            continue
        if _NEEDS[name].weight is not None:
            yield Problem(
                ("loss", "terms", name),
                f"Built-in loss term '{name}'",
                f" is weighted by loss.{_NEEDS[name].weight}; set that instead.",
            )
            continue
        weight = values.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            path = f"loss.terms.{name}.weight"
            yield Problem(_at(origin, path), "Bad value", f": a weight is a number >= 0 "
                          f"(got {weight!r}).")  # fmt: skip
        options = {k: v for k, v in values.items() if k != "weight"}
        yield from _option_problems(found, options, origin, f"loss.terms.{name}")


def check_components(spec: StudySpec) -> list[Problem]:
    """Every problem with the components the study's runs name (plugins already imported),
    first found first, each once."""
    configs = list(_variants(spec))
    found: list[Problem] = []
    for config, origin in configs:
        found += _branch_problems(config, origin)
        found += _loss_problems(config, origin)
    found += _fusion_problems(configs)
    return list(dict.fromkeys(found))


def check_study(spec: StudySpec, plugins: Iterable[CodeRef]) -> list[Problem]:
    """Import the plugins (a failing one raises a one-line UsageError), then check."""
    import_plugins(plugins)
    return check_components(spec)
