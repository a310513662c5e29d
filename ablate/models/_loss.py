"""Loss terms (a registry) and ``compute_loss``, which sums the active ones.

A term is a function ``term(out, targets, *, <context and options>) -> Tensor | None``: it
receives the model's output (the fused head's logits, each branch head's logits, the branch
embeddings and tokens, the fusion's penalties) and the targets, and returns an unweighted
scalar, or None when the model has nothing to apply it to. Its context is the shared ``loss:``
settings it names (``label_smoothing``, ``temperature`` …); every other keyword parameter is
an option, set in ``loss.terms.<name>``.

A term's weight is a ``loss:`` field for the built-ins (``weight="deep_supervision"``: the
study files written before plugins keep their meaning) and ``loss.terms.<name>.weight``
(default 1) for every other term, which is active only when ``loss.terms`` names it. A term
whose weight is 0 is skipped entirely (never added as 0·x), so with every extra weight at 0 the
total is exactly ``F.cross_entropy``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel
from torch import Tensor

from ablate.errors import UsageError
from ablate.models._options import validated
from ablate.models._output import ModelOutput
from ablate.models._registry import Component, Registry
from ablate.models._triplet import cross_modal_triplet
from ablate.spec import LossSpec

LossTerm = Callable[..., Tensor | None]
_SHARED = frozenset(name for name in LossSpec.model_fields if name != "terms")
LOSS_TERMS: Registry[LossTerm] = Registry(
    "loss term", "loss.terms", options_at="loss.terms.{name}", context=_SHARED, positional=2
)


@dataclass(frozen=True)
class _Needs:
    weight: str | float | None  # a loss: field, a fixed weight, or None: loss.terms.<name>
    branch_heads: bool
    tokens: bool


_NEEDS: dict[str, _Needs] = {}


def register_loss_term(
    name: str,
    *,
    description: str,
    options: type[BaseModel] | None = None,
    needs_branch_heads: bool = False,
    needs_tokens: bool = False,
    weight: str | float | None = None,
    parameters: tuple[str, ...] = (),
) -> Callable[[LossTerm], LossTerm]:
    """Register ``term`` under ``name``.

    ``needs_branch_heads``: the model builds an auxiliary head per branch when the term is
    active (``out.branch_logits``); ``needs_tokens``: the branches hand their tokens
    (``out.tokens``). ``weight`` is for the built-ins (see the module docstring).
    """
    if isinstance(weight, str) and weight not in _SHARED:
        raise UsageError(f"loss term '{name}': weight '{weight}' is not a field of loss:.")
    shown = (f"loss.{weight}",) if isinstance(weight, str) else ()

    def decorate(term: LossTerm) -> LossTerm:
        LOSS_TERMS.add(
            name, term, description=description, options=options, parameters=shown + parameters
        )
        _NEEDS[name] = _Needs(weight, needs_branch_heads, needs_tokens)
        return term

    return decorate


def _weight(name: str, loss: LossSpec) -> float:
    weight = _NEEDS[name].weight
    if isinstance(weight, str):
        return float(getattr(loss, weight))
    if isinstance(weight, float | int):
        return float(weight)
    return float(loss.terms[name].get("weight", 1.0)) if name in loss.terms else 0.0


def active_terms(loss: LossSpec) -> list[str]:
    """The terms with a weight > 0, in registration order (unknown names raise)."""
    for name in loss.terms:
        LOSS_TERMS.component(name)
    return [name for name in LOSS_TERMS.names() if _weight(name, loss) != 0]


def term_options(name: str, loss: LossSpec) -> dict[str, Any]:
    """``loss.terms.<name>`` without ablate's own key ('weight')."""
    return {k: v for k, v in loss.terms.get(name, {}).items() if k != "weight"}


def needs_branch_heads(loss: LossSpec) -> bool:
    return any(_NEEDS[name].branch_heads for name in active_terms(loss))


def needs_tokens(loss: LossSpec) -> bool:
    return any(_NEEDS[name].tokens for name in active_terms(loss))


@register_loss_term(
    "ce",
    weight=1.0,
    description="cross-entropy of the fused head",
    parameters=("loss.label_smoothing",),
)
def _ce(out: ModelOutput, labels: Tensor, *, label_smoothing: float) -> Tensor:
    return F.cross_entropy(out.logits, labels, label_smoothing=label_smoothing)


@register_loss_term(
    "deep_supervision",
    weight="deep_supervision",
    needs_branch_heads=True,
    description="a·Σ CE(branch head): an auxiliary classifier on each branch",
    parameters=("loss.label_smoothing",),
)
def _deep_supervision(
    out: ModelOutput, labels: Tensor, *, label_smoothing: float
) -> Tensor | None:
    if not out.branch_logits:
        return None
    terms = [
        F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
        for logits in out.branch_logits.values()
    ]
    return torch.stack(terms).sum()


@register_loss_term(
    "distillation",
    weight="distillation",
    needs_branch_heads=True,
    description="b·T²·Σ KL(fused/T ‖ branch/T): branch heads learn from the detached fused head",
    parameters=("loss.temperature",),
)
def _distillation(out: ModelOutput, labels: Tensor, *, temperature: float) -> Tensor | None:
    if not out.branch_logits:
        return None
    t = temperature
    # KL(softmax(main/T) ‖ softmax(branch/T)) with the target given as log-probabilities: the
    # same value as a softmax target, but exactly 0 when a branch agrees with the fused head.
    teacher = F.log_softmax(out.logits / t, dim=1).detach()
    terms = [
        F.kl_div(F.log_softmax(logits / t, dim=1), teacher, reduction="batchmean", log_target=True)
        for logits in out.branch_logits.values()
    ]
    return t * t * torch.stack(terms).sum()


@register_loss_term(
    "consistency",
    weight="consistency",
    description="mean(1 − cos(rs, social)) between branch embeddings (Cao et al. 2020)",
)
def _consistency(out: ModelOutput, labels: Tensor) -> Tensor | None:
    if len(out.embeddings) < 2:
        return None
    return (1 - F.cosine_similarity(out.embeddings["rs"], out.embeddings["social"], dim=1)).mean()


@register_loss_term(
    "triplet",
    weight="triplet",
    description="cross-modal batch-hard triplet on normalised embeddings (Cao et al. 2020)",
    parameters=("loss.triplet_margin",),
)
def _triplet(out: ModelOutput, labels: Tensor, *, triplet_margin: float) -> Tensor | None:
    if len(out.embeddings) < 2:
        return None
    rs, social = out.embeddings["rs"], out.embeddings["social"]
    return cross_modal_triplet(rs, social, labels, margin=triplet_margin)


@register_loss_term(
    "cen_l1",
    weight="cen_l1",
    description="L1 on BatchNorm γ that drives channel exchanging (channel_exchange only)",
)
def _cen_l1(out: ModelOutput, labels: Tensor) -> Tensor | None:
    return out.penalties.get("cen_l1")


def compute_loss(
    out: ModelOutput, labels: Tensor, loss: LossSpec
) -> tuple[Tensor, dict[str, Tensor]]:
    """(total, {term name: weighted value}) over the active terms, for logging each per epoch
    (as ``loss.<name>``).

    Terms that need two branches (deep supervision, distillation, consistency, triplet) are
    inactive for a single-modality model and absent from the dict.
    """
    total: Tensor | None = None
    terms: dict[str, Tensor] = {}
    for name, weight, component, options in _plan(loss):
        value = component.call(_context(loss), options, out, labels)
        if value is None:
            continue
        weighted = value if _NEEDS[name].weight == 1.0 else weight * value
        terms[name] = weighted
        total = weighted if total is None else total + weighted
    assert total is not None  # 'ce' is always active
    return total, terms


_Plan = list[tuple[str, float, Component[LossTerm], BaseModel]]
_PLANS: dict[str, _Plan] = {}


def _plan(loss: LossSpec) -> _Plan:
    """The active terms with their weights and options, validated once per ``loss:`` (not
    once per batch)."""
    key = loss.model_dump_json() + "|" + ",".join(LOSS_TERMS.names())
    if key not in _PLANS:
        plan = []
        for name in active_terms(loss):
            component = LOSS_TERMS.component(name)
            options = validated(component, term_options(name, loss))
            plan.append((name, _weight(name, loss), component, options))
        _PLANS[key] = plan
    return _PLANS[key]


def _context(loss: LossSpec) -> dict[str, Any]:
    return {name: getattr(loss, name) for name in _SHARED}
