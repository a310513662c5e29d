"""Loss terms (a registry) and ``compute_loss``, which sums the active ones.

A term is active when its weight in ``loss:`` is > 0 and the model produced what it reads.
Inactive terms are skipped entirely (never added as 0·x), so with every extra weight at 0 the
total is exactly ``F.cross_entropy``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ablate.models._output import ModelOutput
from ablate.models._registry import Registry
from ablate.models._triplet import cross_modal_triplet
from ablate.spec import LossSpec

# term(out, labels, loss) -> unweighted value, or None when the model has nothing to apply it to.
LossTerm = Callable[[ModelOutput, Tensor, LossSpec], Tensor | None]


@dataclass(frozen=True)
class _Weighted:
    term: LossTerm
    weight_field: str | None  # None: always on with weight 1 (the main cross-entropy)


LOSS_TERMS: Registry[_Weighted] = Registry("loss term", "loss")  # type: ignore[type-var]


def register_loss_term(
    name: str, *, weight_field: str | None, description: str, parameters: tuple[str, ...] = ()
) -> Callable[[LossTerm], LossTerm]:
    """Register ``term`` under ``name``, weighted by ``LossSpec.<weight_field>``."""
    fields = (f"loss.{weight_field}",) if weight_field else ()

    def decorate(term: LossTerm) -> LossTerm:
        LOSS_TERMS.register(name, description=description, parameters=fields + parameters)(
            _Weighted(term, weight_field)  # type: ignore[arg-type]
        )
        return term

    return decorate


@register_loss_term(
    "ce",
    weight_field=None,
    description="cross-entropy of the fused head",
    parameters=("loss.label_smoothing",),
)
def _ce(out: ModelOutput, labels: Tensor, loss: LossSpec) -> Tensor:
    return F.cross_entropy(out.logits, labels, label_smoothing=loss.label_smoothing)


@register_loss_term(
    "deep_supervision",
    weight_field="deep_supervision",
    description="a·Σ CE(branch head): an auxiliary classifier on each branch",
    parameters=("loss.label_smoothing",),
)
def _deep_supervision(out: ModelOutput, labels: Tensor, loss: LossSpec) -> Tensor | None:
    if not out.branch_logits:
        return None
    terms = [
        F.cross_entropy(logits, labels, label_smoothing=loss.label_smoothing)
        for logits in out.branch_logits.values()
    ]
    return torch.stack(terms).sum()


@register_loss_term(
    "distillation",
    weight_field="distillation",
    description="b·T²·Σ KL(fused/T ‖ branch/T): branch heads learn from the detached fused head",
    parameters=("loss.temperature",),
)
def _distillation(out: ModelOutput, labels: Tensor, loss: LossSpec) -> Tensor | None:
    if not out.branch_logits:
        return None
    t = loss.temperature
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
    weight_field="consistency",
    description="mean(1 − cos(rs, social)) between branch embeddings (Cao et al. 2020)",
)
def _consistency(out: ModelOutput, labels: Tensor, loss: LossSpec) -> Tensor | None:
    if len(out.embeddings) < 2:
        return None
    return (1 - F.cosine_similarity(out.embeddings["rs"], out.embeddings["social"], dim=1)).mean()


@register_loss_term(
    "triplet",
    weight_field="triplet",
    description="cross-modal batch-hard triplet on normalised embeddings (Cao et al. 2020)",
    parameters=("loss.triplet_margin",),
)
def _triplet(out: ModelOutput, labels: Tensor, loss: LossSpec) -> Tensor | None:
    if len(out.embeddings) < 2:
        return None
    rs, social = out.embeddings["rs"], out.embeddings["social"]
    return cross_modal_triplet(rs, social, labels, margin=loss.triplet_margin)


@register_loss_term(
    "cen_l1",
    weight_field="cen_l1",
    description="L1 on BatchNorm γ that drives channel exchanging (channel_exchange only)",
)
def _cen_l1(out: ModelOutput, labels: Tensor, loss: LossSpec) -> Tensor | None:
    return out.penalties.get("cen_l1")


def compute_loss(
    out: ModelOutput, labels: Tensor, loss: LossSpec
) -> tuple[Tensor, dict[str, Tensor]]:
    """(total, {term name: weighted value}) over the active terms, for logging each per epoch.

    Terms that need two branches (deep supervision, distillation, consistency, triplet) are
    inactive for a single-modality model and absent from the dict.
    """
    total: Tensor | None = None
    terms: dict[str, Tensor] = {}
    for name in LOSS_TERMS.names():
        entry = LOSS_TERMS.get(name)
        weight = 1.0 if entry.weight_field is None else getattr(loss, entry.weight_field)
        if weight == 0:
            continue
        value = entry.term(out, labels, loss)
        if value is None:
            continue
        weighted = value if entry.weight_field is None else weight * value
        terms[name] = weighted
        total = weighted if total is None else total + weighted
    assert total is not None  # 'ce' is always active
    return total, terms
