"""ablate: ablation studies for multimodal deep learning, kept in a database.

The public API for your own components (plugins a study lists in ``plugins:``)::

    import ablate

    @ablate.register_fusion("film", description="visit embedding scales the image's")
    def film(*, embed_dim: int, hidden: int = 64) -> ablate.Fusion: ...

``register_fusion``, ``register_image_branch``, ``register_visit_branch`` and
``register_loss_term`` are the decorators the built-ins use too. They live in
``ablate.models`` (torch) and are loaded on first use, so that ``import ablate`` (and
``ablate table``, ``status``, ``studies``) never imports torch.
"""

from ablate._lazy import lazy_exports

_MODELS = "models"
_HOMES = {
    "register_fusion": _MODELS,
    "register_image_branch": _MODELS,
    "register_visit_branch": _MODELS,
    "register_loss_term": _MODELS,
    "Fusion": _MODELS,
    "Branch": _MODELS,
    "BranchFeatures": _MODELS,
    "FusionResult": _MODELS,
    "ModelOutput": _MODELS,
}
__getattr__ = lazy_exports(__name__, _HOMES)
__all__ = sorted(_HOMES)
