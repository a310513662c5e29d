"""Creating timm backbones by name, and loading their weights from a local file only."""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import nn

from ablate.errors import UsageError
from ablate.spec._names import suggest


def unknown_backbone(name: str, where: str) -> str | None:
    """The error message for a name timm does not know, or None when it knows it."""
    if timm.is_model(name):
        return None
    hint = suggest(name, timm.list_models(), n=3) or "; see timm.list_models()."
    return (
        f"Unknown timm backbone '{name}' at {where}{hint} Run 'ablate models' to list the options."
    )


def create_timm_backbone(
    name: str,
    *,
    in_chans: int,
    input_size: tuple[int, int],
    where: str,
    drop_rate: float = 0.0,
) -> nn.Module:
    """A timm model as a feature extractor (``num_classes=0``), never downloading weights."""
    problem = unknown_backbone(name, where)
    if problem is not None:
        raise UsageError(problem)
    kwargs: dict[str, object] = {"pretrained": False, "num_classes": 0, "in_chans": in_chans}
    if drop_rate:
        kwargs["drop_rate"] = drop_rate
    model = _create_sized(name, input_size, kwargs)
    _check_input_size(model, name, in_chans=in_chans, input_size=input_size, where=where)
    return model


def _create_sized(name: str, input_size: tuple[int, int], kwargs: dict[str, object]) -> nn.Module:
    """Transformers fix their input size at construction (and ViTs can pad 100×100 or 26×24
    to a multiple of the patch size); CNNs reject both arguments, so fall back step by step."""
    for extra in ({"img_size": input_size, "dynamic_img_pad": True}, {"img_size": input_size}, {}):
        try:
            return timm.create_model(name, **extra, **kwargs)
        except TypeError:
            if not extra:
                raise
    raise AssertionError("unreachable")


def _check_input_size(
    model: nn.Module, name: str, *, in_chans: int, input_size: tuple[int, int], where: str
) -> None:
    """Fail at build time, with the reason, if the backbone cannot take the input shape
    (a patch size that does not divide 26×24, say), rather than in the first training step."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model.forward_features(torch.zeros(1, in_chans, *input_size))
    except (RuntimeError, AssertionError, ValueError) as exc:
        reason = str(exc).splitlines()[0].rstrip(".") if str(exc) else exc.__class__.__name__
        raise UsageError(
            f"timm model '{name}' at {where} cannot take a {in_chans}×{input_size[0]}×"
            f"{input_size[1]} input ({reason}); choose another backbone."
        ) from exc
    finally:
        model.train(was_training)


def _classifier_prefixes(model: nn.Module) -> tuple[str, ...]:
    classifier = getattr(model, "pretrained_cfg", {}).get("classifier") or ()
    names = (classifier,) if isinstance(classifier, str) else tuple(classifier)
    return tuple(f"{name}." for name in names)


def _read_state_dict(path: Path, where: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise UsageError(
            f"Pretrained weights file {path} ({where}) does not exist; "
            "fix the path or remove pretrained_path."
        )
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UsageError(
            f"Cannot read pretrained weights {path} ({where}): {exc.__class__.__name__}; "
            "save them with torch.save(model.state_dict(), path)."
        ) from exc
    for key in ("state_dict", "model"):  # common checkpoint layouts
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
    if not isinstance(loaded, dict):
        raise UsageError(
            f"Pretrained weights {path} ({where}) hold a {type(loaded).__name__}, not a "
            "state_dict; save them with torch.save(model.state_dict(), path)."
        )
    return {k.removeprefix("module."): v for k, v in loaded.items()}


def _listed(keys: list[str], one: str, many: str) -> str:
    shown = ", ".join(keys[:3]) + (f", … (+{len(keys) - 3} more)" if len(keys) > 3 else "")
    return f"{len(keys)} {one if len(keys) == 1 else many} ({shown})"


def load_backbone_weights(model: nn.Module, path: Path, *, name: str, where: str) -> None:
    """Load a local state_dict into a timm backbone; classifier keys are dropped.

    Anything missing, unexpected or of the wrong shape is an error naming the file and the
    keys: silently half-loaded weights would make an ablation meaningless.
    """
    state = _read_state_dict(path, where)
    prefixes = _classifier_prefixes(model)
    state = {k: v for k, v in state.items() if not k.startswith(prefixes)}
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    problems = [
        _listed(keys, one, many)
        for keys, one, many in (
            (missing, "missing key", "missing keys"),
            (unexpected, "unexpected key", "unexpected keys"),
            (wrong_shape, "shape mismatch", "shape mismatches"),
        )
        if keys
    ]
    if problems:
        raise UsageError(
            f"Pretrained weights {path} ({where}) do not fit timm model '{name}': "
            f"{'; '.join(problems)}. Save the weights from the same backbone, or remove "
            "pretrained_path."
        )
    model.load_state_dict(state, strict=True)
