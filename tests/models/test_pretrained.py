"""Image-branch weights come from a local file only, and must fit exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch

from ablate.errors import UsageError
from ablate.models import create_image_branch
from ablate.spec import ImageBranchSpec


def _branch(path: Path):
    spec = ImageBranchSpec(backbone="test_resnet", pretrained_path=path)
    return create_image_branch(spec, embed_dim=16, image_size=32)


def test_loads_weights_and_drops_the_classifier(tmp_path: Path) -> None:
    torch.manual_seed(1)
    source = timm.create_model("test_resnet", pretrained=False, num_classes=9)
    path = tmp_path / "weights.pt"
    torch.save(source.state_dict(), path)
    loaded = _branch(path).backbone.state_dict()
    expected = {k: v for k, v in source.state_dict().items() if not k.startswith("fc.")}
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)


def test_accepts_a_checkpoint_dict(tmp_path: Path) -> None:
    source = timm.create_model("test_resnet", pretrained=False, num_classes=0)
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": source.state_dict(), "epoch": 3}, path)
    loaded = _branch(path).backbone.state_dict()
    assert torch.equal(loaded["conv1.0.weight"], source.state_dict()["conv1.0.weight"])


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.pt"
    with pytest.raises(UsageError) as caught:
        _branch(path)
    assert str(caught.value) == (
        f"Pretrained weights file {path} (model.image.pretrained_path) does not exist; "
        "fix the path or remove pretrained_path."
    )


def test_mismatched_file(tmp_path: Path) -> None:
    state = timm.create_model("test_resnet", pretrained=False, num_classes=0).state_dict()
    del state["layer4.0.downsample.2.bias"]
    state["conv1.0.weight"] = torch.zeros(8, 3, 3, 3)
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "other.pt"
    torch.save(state, path)
    with pytest.raises(UsageError) as caught:
        _branch(path)
    assert str(caught.value) == (
        f"Pretrained weights {path} (model.image.pretrained_path) do not fit timm model "
        "'test_resnet': 1 missing key (layer4.0.downsample.2.bias); 1 unexpected key "
        "(extra.weight); 1 shape mismatch (conv1.0.weight: file (8, 3, 3, 3) vs model "
        "(16, 3, 3, 3)). Save the weights from the same backbone, or remove pretrained_path."
    )


def test_not_a_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(UsageError, match="hold a Tensor, not a state_dict"):
        _branch(path)
