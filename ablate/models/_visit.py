"""Social-sensing branches over the 7×26×24 visit tensor or its 182×24 day sequence."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from ablate.models._branch import Branch, global_pool
from ablate.models._image import TimmBranch
from ablate.models._options import typed_call
from ablate.models._registry import Registry
from ablate.models._timm import create_timm_backbone
from ablate.spec import VisitBranchSpec

# factory(*, embed_dim, width, backbone, <its options>) -> Branch: the shared model.visit
# settings are context; a plugin's own options go in model.visit.options.
VisitBranchFactory = Callable[..., Branch]
VISIT_BRANCHES: Registry[VisitBranchFactory] = Registry(
    "visit branch",
    "model.visit.branch",
    options_at="model.visit.options",
    context=frozenset({"embed_dim", "width", "backbone"}),
)
register_visit_branch = VISIT_BRANCHES.register

DAYS_OF_WEEK, WEEKS, HOURS = 7, 26, 24


def day_sequence(visits: Tensor) -> Tensor:
    """(B, 7, 26, 24) [day_of_week][week][hour] → (B, 182, 24) in calendar order.

    Day index = week * 7 + day_of_week (2018-10-01, day 0, is a Monday).
    """
    return visits.permute(0, 2, 1, 3).reshape(visits.shape[0], WEEKS * DAYS_OF_WEEK, HOURS)


def _conv_block(conv: type[nn.Conv1d] | type[nn.Conv2d], c_in: int, c_out: int) -> nn.Sequential:
    norm = nn.BatchNorm1d if conv is nn.Conv1d else nn.BatchNorm2d
    pool = nn.MaxPool1d if conv is nn.Conv1d else nn.MaxPool2d
    return nn.Sequential(
        conv(c_in, c_out, 3, padding=1, bias=False),
        norm(c_out),
        nn.ReLU(inplace=True),
        conv(c_out, c_out, 3, padding=1, bias=False),
        norm(c_out),
        nn.ReLU(inplace=True),
        pool(2),
    )


class Cnn2dBranch(Branch):
    """Two conv blocks over the 26×24 week×hour grid, the 7 days as channels."""

    def __init__(self, *, width: int, embed_dim: int) -> None:
        super().__init__(embed_dim=embed_dim, map_channels=2 * width, mid_channels=width)
        self.block1 = _conv_block(nn.Conv2d, DAYS_OF_WEEK, width)
        self.block2 = _conv_block(nn.Conv2d, width, 2 * width)

    def encode(self, x: Tensor, *, need_mid: bool) -> tuple[Tensor, Tensor, Tensor | None]:
        mid_map = self.block1(x)
        feature_map = self.block2(mid_map)
        return self.proj(global_pool(feature_map)), feature_map, mid_map


class Cnn1dBranch(Branch):
    """Two 1-D conv blocks along the 182 days, the 24 hours as channels (Cao et al. 2020)."""

    def __init__(self, *, width: int, embed_dim: int) -> None:
        super().__init__(embed_dim=embed_dim, map_channels=2 * width, mid_channels=width)
        self.block1 = _conv_block(nn.Conv1d, HOURS, width)
        self.block2 = _conv_block(nn.Conv1d, width, 2 * width)

    def encode(self, x: Tensor, *, need_mid: bool) -> tuple[Tensor, Tensor, Tensor | None]:
        mid = self.block1(day_sequence(x).transpose(1, 2))
        final = self.block2(mid)
        return self.proj(final.mean(dim=2)), final.unsqueeze(2), mid.unsqueeze(2)


def _sequence_map(states: Tensor) -> Tensor:
    """(B, L, C) LSTM states → a (B, C, 1, L) map."""
    return states.transpose(1, 2).unsqueeze(2)


class LstmBranch(Branch):
    """Two stacked LSTM layers over the 182 days (Cao et al. 2020); the last state is pooled."""

    def __init__(self, *, width: int, embed_dim: int) -> None:
        super().__init__(embed_dim=embed_dim, map_channels=width, mid_channels=width)
        # Two single-layer LSTMs rather than num_layers=2, so the first layer's states can be
        # the mid-depth map for dual fusion.
        self.lstm1 = nn.LSTM(HOURS, width, batch_first=True)
        self.lstm2 = nn.LSTM(width, width, batch_first=True)

    def encode(self, x: Tensor, *, need_mid: bool) -> tuple[Tensor, Tensor, Tensor | None]:
        mid, _ = self.lstm1(day_sequence(x))
        final, _ = self.lstm2(mid)
        return self.proj(final[:, -1]), _sequence_map(final), _sequence_map(mid)


@register_visit_branch(
    "cnn2d",
    description="2-D CNN over the 26×24 week×hour grid, 7 days as channels",
    parameters=("model.visit.width",),
)
def _cnn2d(*, width: int, embed_dim: int) -> Branch:
    return Cnn2dBranch(width=width, embed_dim=embed_dim)


@register_visit_branch(
    "cnn1d",
    description="1-D CNN along the 182×24 day sequence (Cao et al. 2020)",
    parameters=("model.visit.width",),
)
def _cnn1d(*, width: int, embed_dim: int) -> Branch:
    return Cnn1dBranch(width=width, embed_dim=embed_dim)


@register_visit_branch(
    "lstm",
    description="two-layer LSTM along the 182×24 day sequence (Cao et al. 2020)",
    parameters=("model.visit.width",),
)
def _lstm(*, width: int, embed_dim: int) -> Branch:
    return LstmBranch(width=width, embed_dim=embed_dim)


@register_visit_branch(
    "timm",
    description="any timm model over the 26×24 grid with in_chans=7",
    parameters=("model.visit.backbone",),
)
def _timm(*, backbone: str, embed_dim: int) -> Branch:
    where = "model.visit.backbone"
    model = create_timm_backbone(
        backbone, in_chans=DAYS_OF_WEEK, input_size=(WEEKS, HOURS), where=where
    )
    return TimmBranch(model, name=backbone, embed_dim=embed_dim, multiscale=False, where=where)


def create_visit_branch(spec: VisitBranchSpec, *, embed_dim: int) -> Branch:
    """The social-sensing branch from ``model.visit``."""
    context = {"embed_dim": embed_dim, "width": spec.width, "backbone": spec.backbone}
    return typed_call(VISIT_BRANCHES.component(spec.branch), context, spec.options)
