"""The ``model:`` and ``loss:`` sections: branches, fusion, heads and loss weights.

Component names (``model.fusion``, ``model.visit.branch``, ``model.image.branch``, the keys of
``loss.terms``) and their options are *not* checked here: the registry in ``ablate.models``
is their one source of truth, and it holds the study's plugins only where they are imported
(the dry run and the workers' preflight, which imports torch; this module must not). The
options are mappings here and typed there, each component by its own options model.

Every new field defaults to empty, and run keys leave defaults out, so the run keys of
studies written before plugins existed do not change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SerializationInfo, SerializerFunctionWrapHandler, model_serializer

from ablate.spec._base import Frozen

Options = dict[str, Any]  # a component's options as written; typed where it is registered

# The defaults of the options that model.fusion_options held as typed fields before plugins.
# A run key leaves defaults out, so an option written at its old default must stay out of it
# too (studies/fusion.yaml writes all of them): the fusion registry refuses a fusion whose
# option of one of these names has another default, so leaving it out is always sound.
LEGACY_FUSION_DEFAULTS: dict[str, Any] = {
    "heads": 4,
    "bidirectional": True,
    "layer_scale_init": 1e-4,
    "exchange_threshold": 2e-2,
    "gate_hidden": 64,
}


class ImageBranchSpec(Frozen):
    """The remote-sensing branch: by default any timm model as a feature extractor."""

    branch: str = Field("timm", description="a registered image branch")
    backbone: str = "resnet18"
    pretrained_path: Path | None = None
    multiscale: bool = False
    drop_rate: float = Field(0.0, ge=0.0, lt=1.0)
    options: Options = Field(default_factory=dict, description="the branch's own options")


class VisitBranchSpec(Frozen):
    """The social-sensing branch over the 7×26×24 visit tensor (or its 182×24 sequence)."""

    branch: str = "cnn2d"
    width: int = Field(64, ge=4, le=2048)
    backbone: str = Field("resnet18", description="timm model name when branch is 'timm'")
    options: Options = Field(default_factory=dict, description="the branch's own options")


class ModelSpec(Frozen):
    modality: Literal["rs", "social", "fused"] = "fused"
    image: ImageBranchSpec = ImageBranchSpec()
    visit: VisitBranchSpec = VisitBranchSpec()
    fusion: str = "concat"
    # The options of the fusion(s) the study names, as one mapping (as before plugins, so
    # existing files and run keys stay valid): each fusion reads the keys it takes, and a key
    # must belong to at least one fusion the study can reach.
    fusion_options: Options = Field(default_factory=dict)
    embed_dim: int = Field(256, ge=8, le=8192)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)

    @model_serializer(mode="wrap")
    def _without_legacy_defaults(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        """With defaults excluded (a run key), fusion options at their old defaults are
        defaults: the run keys of studies written before plugins do not change."""
        dumped = handler(self)
        if info.exclude_defaults and isinstance(dumped.get("fusion_options"), dict):
            kept = {
                key: value
                for key, value in dumped["fusion_options"].items()
                if not _is_legacy_default(key, value)
            }
            if kept:
                dumped["fusion_options"] = kept
            else:
                del dumped["fusion_options"]
        return dumped


def _is_legacy_default(key: str, value: Any) -> bool:
    default = LEGACY_FUSION_DEFAULTS.get(key, _UNSET)
    if default is _UNSET or value != default:
        return False
    return isinstance(value, bool) == isinstance(default, bool)  # heads: true is not 4


_UNSET = object()


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
    # Plugin loss terms by name: {focal: {weight: 0.5, gamma: 2.0}}; 'weight' (default 1) is
    # ablate's, the other keys are the term's own options.
    terms: dict[str, Options] = Field(default_factory=dict)


__all__ = ["ImageBranchSpec", "LossSpec", "ModelSpec", "Options", "VisitBranchSpec"]
