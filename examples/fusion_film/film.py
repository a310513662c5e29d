"""FiLM fusion (Perez et al. 2018): the visit embedding scales and shifts the image's.

A plugin: list this file in a study's ``plugins:`` and name ``film`` in ``model.fusion``;
its one option is ``model.fusion_options.hidden``.
"""

from torch import nn

import ablate


class FiLM(ablate.Fusion):
    def __init__(self, embed_dim: int, hidden: int) -> None:
        super().__init__(out_dim=embed_dim)
        self.film = nn.Sequential(
            nn.Linear(embed_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2 * embed_dim)
        )

    def forward(self, rs, social):
        gamma, beta = self.film(social.embedding).chunk(2, dim=1)
        return ablate.FusionResult((1 + gamma) * rs.embedding + beta)


@ablate.register_fusion("film", description="FiLM: visits scale and shift the image embedding")
def film(*, embed_dim: int, hidden: int = 32) -> FiLM:
    return FiLM(embed_dim, hidden)
