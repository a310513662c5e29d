"""The ``data:`` section: where the samples come from and how they are fed."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ablate.spec._base import Frozen


class DataSpec(Frozen):
    """Built-in synthetic URFC data, or a cache made by ``ablate data prepare``.

    Synthetic data is written in the real raw URFC layout and read through the same prepare
    path as the real archive, so ``source: synthetic`` and a cache prepared from
    ``ablate data synth`` output with the same settings give identical arrays.
    """

    source: Literal["synthetic", "cache"] = "synthetic"
    path: Path | None = None
    n: int = Field(900, ge=36, le=2_000_000, description="synthetic: number of labelled regions")
    synth_seed: int = Field(0, ge=0)
    val_fraction: float = Field(0.2, gt=0.0, lt=0.5)
    test_fraction: float = Field(0.2, gt=0.0, lt=0.5)
    split_seed: int = Field(0, ge=0)
    visit_transform: Literal["raw", "log1p", "max"] = "log1p"
    image_size: int = Field(100, ge=16, le=512, description="side the model sees; stored at 100")
    augment: bool = True
    train_limit: int | None = Field(None, ge=9, description="use only the first N training rows")

    @model_validator(mode="after")
    def _source_fields(self) -> DataSpec:
        if self.source == "cache" and self.path is None:
            raise ValueError(
                "source 'cache' needs 'path:' naming a folder made by 'ablate data prepare'"
            )
        if self.source == "synthetic" and self.path is not None:
            raise ValueError("'path:' is only for source 'cache'; remove it or set source: cache")
        return self
