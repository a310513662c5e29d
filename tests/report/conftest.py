"""Fixtures: results databases built by hand, with numbers the tests know in advance.

Tests reach the helpers through the ``fakes`` fixture (pytest runs with --import-mode=importlib,
so a helper module could not be imported by name).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine

from ablate.data._layout import URFC_CLASSES
from ablate.db import ensure_schema, make_engine, session_scope, writer
from ablate.results import ClassScores, EpochResult, SplitScores
from ablate.spec import StudySpec, cell_key, resolve


@dataclass
class FakeTrial:
    cell: dict[str, Any]
    seed: int
    state: str = "complete"
    accuracy: float = 0.5  # test split; val = accuracy - 0.01
    kappa: float = 0.4
    macro_f1: float = 0.45
    error: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    objective: float | None = None
    run_key: str | None = None  # default: the run key the runner gives it under the spec
    epochs: int = 3
    n_params: int = 1000
    flops: float | None = None
    phase: str = ""  # 'confirm': a search's confirmation run


def _split(name: str, trial: FakeTrial) -> SplitScores:
    shift = 0.0 if name == "test" else -0.01
    confusion = tuple(
        tuple(8 if i == j else (1 if j == (i + 1) % 9 else 0) for j in range(9)) for i in range(9)
    )
    return SplitScores(
        split=name,
        epoch=trial.epochs,
        accuracy=trial.accuracy + shift,
        kappa=trial.kappa + shift,
        macro_f1=trial.macro_f1 + shift,
        loss=1.0,
        n_samples=81,
        classes=ClassScores(
            names=URFC_CLASSES,
            accuracy=tuple(trial.accuracy + 0.01 * (k - 4) for k in range(9)),
            support=(9,) * 9,
            confusion=confusion,
        ),
    )


def run_key(spec: StudySpec, trial: FakeTrial) -> str:
    """The run key ``ablate run`` gives this trial under ``spec`` (its resolved config + seed)."""
    return resolve(
        spec, seed=trial.seed, cell=trial.cell, params=trial.params, phase=trial.phase
    ).run_key


def build_db(path: Path, spec: StudySpec, trials: list[FakeTrial]) -> str:
    """Write ``spec`` and ``trials`` (in order) through the real writer; returns the URL."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        study_id = writer.upsert_study(
            session,
            name=spec.name,
            description=spec.description,
            kind=spec.kind,
            spec_json=spec.model_dump(mode="json"),
            spec_text="",
            spec_path=f"studies/{spec.name}.yaml",
        )
        for number, t in enumerate(trials):
            key = cell_key(t.cell)
            trial_id = writer.start_trial(
                session,
                study_id=study_id,
                number=number,
                run_key=t.run_key or run_key(spec, t),
                cell_key=key,
                cell=t.cell,
                params=t.params,
                seed=t.seed,
                config={},
                host="gpu-server-1" if number % 2 else "laptop",
                pid=1000 + number,
                git_commit="abc1234",
                phase=t.phase,
            )
            for epoch in range(1, t.epochs + 1):
                writer.record_epoch(
                    session,
                    trial_id,
                    EpochResult(
                        epoch,
                        1.0 / epoch,
                        1.1 / epoch,
                        t.accuracy - 0.1 / epoch,
                        1e-3,
                        2.0,
                        {"loss.main": 0.5},
                    ),
                )
            if t.state == "complete":
                writer.complete_trial(
                    session,
                    trial_id,
                    best_epoch=t.epochs,
                    objective=t.objective if t.objective is not None else t.accuracy - 0.01,
                    splits=(_split("val", t), _split("test", t)),
                    n_params=t.n_params,
                    flops=t.flops,
                    batch_size=64,
                )
            elif t.state != "running":
                writer.end_trial(session, trial_id, state=t.state, error=t.error)
            session.flush()
    engine.dispose()
    return url


FUSION_ACC = {  # test accuracy (fraction) by fusion and seed
    "concat": [0.686, 0.690, 0.681],
    "sum": [0.692, 0.699, 0.688],
    "max": [0.640, 0.652],  # seed 2 failed
}


def fusion_spec(**overrides: Any) -> StudySpec:
    fields: dict[str, Any] = {
        "name": "fusion",
        "grid": {"model.fusion": ["concat", "sum", "max"]},
        "seeds": [0, 1, 2],
        "baseline": {"model.fusion": "concat"},
        "references": [{"label": "Cao et al. 2020 (reported)", "test_accuracy": 70.02}],
    }
    return StudySpec(**{**fields, **overrides})


def fusion_trials() -> list[FakeTrial]:
    trials = []
    for fusion, accs in FUSION_ACC.items():
        for seed, acc in enumerate(accs):
            if fusion == "sum" and seed == 1:  # crashed once, retried, then complete
                trials.append(
                    FakeTrial(
                        {"model.fusion": "sum"},
                        1,
                        state="failed",
                        error="Traceback...\nRuntimeError: CUDA out of memory",
                        epochs=1,
                    )
                )
            trials.append(
                FakeTrial(
                    {"model.fusion": fusion},
                    seed,
                    accuracy=acc,
                    kappa=acc - 0.1,
                    macro_f1=acc - 0.05,
                )
            )
    trials.append(
        FakeTrial(
            {"model.fusion": "max"},
            2,
            state="failed",
            epochs=2,
            error="Traceback (most recent call last):\nValueError: loss is NaN",
        )
    )
    return trials


MODALITY_ACC = {  # test accuracy (fraction) by modality and seed 0..4
    "rs": [0.600, 0.610, 0.605, 0.598, 0.612],
    "social": [0.500, 0.520, 0.510, 0.505, 0.515],
    "fused": [0.680, 0.690, 0.685, 0.679, 0.688],
}
LOSS_ACC = {  # test accuracy (fraction) by deep-supervision weight and seed 0..4
    0.0: [0.681, 0.689, 0.686, 0.680, 0.687],
    0.5: [0.690, 0.694, 0.690, 0.688, 0.696],
}


def modality_spec() -> StudySpec:
    return StudySpec(
        name="modality",
        description="RS only vs social only vs fused",
        grid={"model.modality": list(MODALITY_ACC)},
        seeds=[0, 1, 2, 3, 4],
        baseline={"model.modality": "fused"},
        references=[{"label": "Cao et al. 2020 (reported)", "test_accuracy": 70.02}],
    )


def loss_spec() -> StudySpec:
    return StudySpec(
        name="loss_variants",
        description="CE vs + deep supervision",
        grid={"loss.deep_supervision": list(LOSS_ACC)},
        seeds=[0, 1, 2, 3, 4],
        baseline={"loss.deep_supervision": 0.0},
    )


def three_studies(path: Path) -> str:
    """modality (seeds 0-4), loss_variants (0-4) and fusion (0-2, as ``fusion_url``) in one
    database; measured rows cost 11.7 M parameters and 3.6 GFLOPs (fusion: 1000, none)."""
    cost = {"n_params": 11_700_000, "flops": 3.6e9}
    modality = [
        FakeTrial({"model.modality": m}, seed, accuracy=a, kappa=a - 0.1, **cost)
        for m, accs in MODALITY_ACC.items()
        for seed, a in enumerate(accs)
    ]
    loss = [
        FakeTrial({"loss.deep_supervision": w}, seed, accuracy=a, kappa=a - 0.1, **cost)
        for w, accs in LOSS_ACC.items()
        for seed, a in enumerate(accs)
    ]
    build_db(path, modality_spec(), modality)
    build_db(path, loss_spec(), loss)
    return build_db(path, fusion_spec(), fusion_trials())


def search_spec() -> StudySpec:
    return StudySpec(
        name="loss_weights",
        search={
            "n_trials": 8,
            "params": {
                "loss.deep_supervision": {"low": 0.0, "high": 1.0},
                "loss.distillation": {"low": 0.0, "high": 1.0},
            },
        },
    )


def search_trials() -> list[FakeTrial]:
    """Objective rises with a (deep supervision), barely depends on b."""
    trials = []
    points = [(0.1, 0.9), (0.9, 0.1), (0.5, 0.5), (0.3, 0.2), (0.7, 0.8), (0.2, 0.6), (0.8, 0.4)]
    for a, b in points:
        objective = 0.60 + 0.1 * a + 0.001 * b
        trials.append(
            FakeTrial(
                {},
                0,
                params={"loss.deep_supervision": a, "loss.distillation": b},
                accuracy=objective + 0.01,
                objective=objective,
            )
        )
    trials.append(
        FakeTrial(
            {},
            0,
            state="pruned",
            error="pruned at epoch 2",
            epochs=2,
            params={"loss.deep_supervision": 0.05, "loss.distillation": 0.5},
        )
    )
    return trials


def require_tool(name: str) -> str:
    """The tool's path; skip when it is missing, fail instead when ABLATE_REQUIRE_TOOLS is set."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"'{name}' is not installed (see the Debian packages in .ci/run)"
    if os.environ.get("ABLATE_REQUIRE_TOOLS"):
        pytest.fail(f"ABLATE_REQUIRE_TOOLS is set but {reason}")
    pytest.skip(reason)


@pytest.fixture
def fusion_url(tmp_path: Path) -> str:
    return build_db(tmp_path / "fusion.sqlite", fusion_spec(), fusion_trials())


@pytest.fixture
def fusion_engine(fusion_url: str) -> Engine:
    return make_engine(fusion_url, create=False)


@pytest.fixture
def search_url(tmp_path: Path) -> str:
    return build_db(tmp_path / "search.sqlite", search_spec(), search_trials())


@pytest.fixture
def search_engine(search_url: str) -> Engine:
    return make_engine(search_url, create=False)


@pytest.fixture
def three_url(tmp_path: Path) -> str:
    return three_studies(tmp_path / "three.sqlite")


@pytest.fixture
def fakes() -> SimpleNamespace:
    return SimpleNamespace(
        FUSION_ACC=FUSION_ACC,
        MODALITY_ACC=MODALITY_ACC,
        LOSS_ACC=LOSS_ACC,
        FakeTrial=FakeTrial,
        build_db=build_db,
        fusion_spec=fusion_spec,
        fusion_trials=fusion_trials,
        search_spec=search_spec,
        search_trials=search_trials,
        require_tool=require_tool,
        run_key=run_key,
    )
