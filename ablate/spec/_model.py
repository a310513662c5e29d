"""The ``model:`` and ``loss:`` sections: branches, fusion, heads and loss weights."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from ablate.spec._base import Frozen
from ablate.spec._catalog import FUSIONS, VISIT_BRANCHES
from ablate.spec._names import check_name


class ImageBranchSpec(Frozen):
    """Any timm model used as a feature extractor (``num_classes=0``)."""

    backbone: str = "resnet18"
    pretrained_path: Path | None = None
    multiscale: bool = False
    drop_rate: float = Field(0.0, ge=0.0, lt=1.0)


class VisitBranchSpec(Frozen):
    """The social-sensing branch over the 7×26×24 visit tensor (or its 182×24 sequence)."""

    branch: str = "cnn2d"
    width: int = Field(64, ge=4, le=2048)
    backbone: str = Field("resnet18", description="timm model name when branch is 'timm'")

    @field_validator("branch")
    @classmethod
    def _known_branch(cls, value: str) -> str:
        return check_name(value, VISIT_BRANCHES, "visit branch")


class FusionOptions(Frozen):
    """Knobs of the fusion operators; each operator reads only its own."""

    heads: int = Field(4, ge=1, le=64)
    bidirectional: bool = True
    layer_scale_init: float = Field(1e-4, ge=0.0)
    exchange_threshold: float = Field(2e-2, ge=0.0)
    gate_hidden: int = Field(64, ge=1)


class ModelSpec(Frozen):
    modality: Literal["rs", "social", "fused"] = "fused"
    image: ImageBranchSpec = ImageBranchSpec()
    visit: VisitBranchSpec = VisitBranchSpec()
    fusion: str = "concat"
    fusion_options: FusionOptions = FusionOptions()
    embed_dim: int = Field(256, ge=8, le=8192)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)

    @field_validator("fusion")
    @classmethod
    def _known_fusion(cls, value: str) -> str:
        return check_name(value, FUSIONS, "fusion")


class LossSpec(Frozen):
    """Weights of the loss terms; a weight of 0 removes the term (and any head it needs)."""

    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    deep_supervision: float = Field(0.0, ge=0.0)
    distillation: float = Field(0.0, ge=0.0)
    temperature: float = Field(4.0, gt=0.0)
    consistency: float = Field(0.0, ge=0.0)
    triplet: float = Field(0.0, ge=0.0)
    triplet_margin: float = Field(0.2, ge=0.0)
    cen_l1: float = Field(2e-4, ge=0.0)


__all__ = ["FusionOptions", "ImageBranchSpec", "LossSpec", "ModelSpec", "VisitBranchSpec"]
