"""Timm backbones as branches: the image branch, and the visit branch's 'timm' option."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import Tensor, nn

from ablate.errors import UsageError
from ablate.models._branch import Branch, global_pool
from ablate.models._options import typed_call
from ablate.models._registry import Registry
from ablate.models._timm import create_timm_backbone, load_backbone_weights
from ablate.spec import ImageBranchSpec

# factory(*, embed_dim, image_size, backbone, pretrained_path, multiscale, drop_rate,
# <its options>) -> Branch: the shared model.image settings are context; a plugin's own
# options go in model.image.options.
ImageBranchFactory = Callable[..., Branch]
IMAGE_BRANCHES: Registry[ImageBranchFactory] = Registry(
    "image branch",
    "model.image.branch",
    options_at="model.image.options",
    context=frozenset(
        {"embed_dim", "image_size", "backbone", "pretrained_path", "multiscale", "drop_rate"}
    ),
)
register_image_branch = IMAGE_BRANCHES.register


class TimmBranch(Branch):
    """Any timm model with ``num_classes=0``; optionally FPN-style multi-scale pooling.

    Multi-scale: the three stages before the last are average-pooled, each projected to
    ``embed_dim`` and summed with the last stage's projection. Mid-depth and multi-scale maps
    come from timm's ``forward_intermediates`` on the same module, so that weights loaded into
    the plain model stay valid (a ``features_only`` wrapper renames keys).
    """

    def __init__(
        self, backbone: nn.Module, *, name: str, embed_dim: int, multiscale: bool, where: str
    ) -> None:
        info = [dict(entry) for entry in backbone.feature_info]
        self.mid_index = len(info) // 2
        super().__init__(
            embed_dim=embed_dim,
            map_channels=backbone.num_features,
            mid_channels=info[self.mid_index]["num_chs"],
        )
        self.backbone = backbone
        # Some heads widen the pooled features (MambaOut's pre-logits MLP): project those apart.
        pooled_dim = getattr(backbone, "head_hidden_size", None) or backbone.num_features
        self.pooled_proj = (
            nn.Linear(pooled_dim, embed_dim) if pooled_dim != backbone.num_features else None
        )
        self.channels_last_output = getattr(backbone, "output_fmt", "NCHW") == "NHWC"
        self.name = name
        self.where = where
        self.multiscale = multiscale
        # The (up to) three stages before the last one.
        earlier = list(range(max(0, len(info) - 4), len(info) - 1))
        self.scale_indices = earlier if multiscale else []
        self.scale_projs = nn.ModuleList(
            nn.Linear(info[i]["num_chs"], embed_dim) for i in self.scale_indices
        )
        if multiscale:
            self.check_intermediates()

    def check_intermediates(self) -> None:
        if not hasattr(self.backbone, "forward_intermediates"):
            raise UsageError(
                f"timm model '{self.name}' at {self.where} cannot return intermediate feature "
                "maps (no forward_intermediates), which multiscale and dual fusion need; "
                "choose another backbone."
            )

    def encode(self, x: Tensor, *, need_mid: bool) -> tuple[Tensor, Tensor, Tensor | None]:
        indices = sorted({*self.scale_indices, *([self.mid_index] if need_mid else [])})
        if indices:
            final, maps = self.backbone.forward_intermediates(x, indices=indices)
            by_index = dict(zip(indices, maps, strict=True))
        else:
            final, by_index = self.backbone.forward_features(x), {}
        pooled_proj = self.pooled_proj if self.pooled_proj is not None else self.proj
        embedding = pooled_proj(self.backbone.forward_head(final, pre_logits=True))
        for index, proj in zip(self.scale_indices, self.scale_projs, strict=True):
            embedding = embedding + proj(global_pool(by_index[index]))
        if final.ndim == 3:  # transformers give (B, N, C) tokens: lay them out as a 1×N map
            feature_map = final.transpose(1, 2).unsqueeze(2)
        elif self.channels_last_output:  # Swin, MambaOut: (B, H, W, C)
            feature_map = final.permute(0, 3, 1, 2)
        else:
            feature_map = final
        return embedding, feature_map, by_index.get(self.mid_index)


@register_image_branch(
    "timm",
    description="any timm model as a feature extractor (num_classes=0), weights only from a "
    "local file",
    parameters=(
        "model.image.backbone",
        "model.image.pretrained_path",
        "model.image.multiscale",
        "model.image.drop_rate",
        "model.embed_dim",
    ),
)
def _timm_image(
    *,
    backbone: str,
    embed_dim: int,
    image_size: int,
    pretrained_path: Path | None,
    multiscale: bool,
    drop_rate: float,
) -> Branch:
    model = create_timm_backbone(
        backbone,
        in_chans=3,
        input_size=(image_size, image_size),
        where="model.image.backbone",
        drop_rate=drop_rate,
    )
    if pretrained_path is not None:
        load_backbone_weights(
            model, pretrained_path, name=backbone, where="model.image.pretrained_path"
        )
    return TimmBranch(
        model, name=backbone, embed_dim=embed_dim, multiscale=multiscale,
        where="model.image.backbone",
    )  # fmt: skip


def create_image_branch(spec: ImageBranchSpec, *, embed_dim: int, image_size: int) -> Branch:
    """The remote-sensing branch from ``model.image``."""
    context = {
        "embed_dim": embed_dim,
        "image_size": image_size,
        "backbone": spec.backbone,
        "pretrained_path": spec.pretrained_path,
        "multiscale": spec.multiscale,
        "drop_rate": spec.drop_rate,
    }
    return typed_call(IMAGE_BRANCHES.component(spec.branch), context, spec.options)
