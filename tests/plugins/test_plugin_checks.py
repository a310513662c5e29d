"""Components a study names are checked where plugins are imported: exact messages with the
file, line and suggestion, as the spec's own errors (these checks moved from parse time)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from ablate.errors import UsageError
from ablate.models import FUSIONS, check_study, register_fusion
from ablate.spec import component_error, parse_study

FILM = Path(__file__).parents[2] / "examples" / "fusion_film" / "film.py"


def _error(text: str, plugins: tuple = ()) -> str:
    problems = check_study(parse_study(text, where="studies/x.yaml"), plugins)
    assert problems, "expected a problem"
    return str(component_error(problems, text=text, where="studies/x.yaml"))


def test_unknown_fusion_lists_close_match_and_command() -> None:
    text = "name: x\nmodel:\n  fusion: concta\n"
    assert _error(text) == (
        "Unknown fusion 'concta' at model.fusion in studies/x.yaml:3; did you mean 'concat'? "
        "Run 'ablate models' to list them."
    )


def test_bad_grid_value_points_at_its_item() -> None:
    text = "name: x\ngrid:\n  model.fusion:\n    - concat\n    - summ\n"
    assert _error(text) == (
        "Unknown fusion 'summ' at grid['model.fusion'][1] in studies/x.yaml:5; did you mean "
        "'sum'? Run 'ablate models' to list them."
    )


def test_unknown_visit_branch_lists_the_choices() -> None:
    text = "name: x\nmodel:\n  visit: {branch: transformer}\n"
    assert _error(text) == (
        "Unknown visit branch 'transformer' at model.visit.branch in studies/x.yaml:3; choose "
        "one of: cnn2d, cnn1d, lstm, timm."
    )


def test_each_fusion_has_its_own_typed_options() -> None:
    text = "name: x\nmodel:\n  fusion: cross_attention\n  fusion_options: {heads: 0}\n"
    assert _error(text) == (
        "Bad value at model.fusion_options.heads in studies/x.yaml:4: Input should be greater "
        "than or equal to 1 (got 0)."
    )
    typo = "name: x\nmodel:\n  fusion: gated\n  fusion_options: {gate_hiden: 8}\n"
    assert _error(typo) == (
        "Unknown key 'gate_hiden' at model.fusion_options in studies/x.yaml:4; did you mean "
        "'gate_hidden'?"
    )


def test_an_option_key_must_belong_to_a_fusion_of_the_grid() -> None:
    text = "name: x\nmodel: {fusion_options: {heads: 2}}\ngrid:\n  model.fusion: [concat, sum]\n"
    assert _error(text) == (
        "Unknown key 'heads' at model.fusion_options in studies/x.yaml:2; the fusions this "
        "study uses ('concat', 'sum') take no options."
    )
    fine = text.replace("[concat, sum]", "[concat, cross_attention]")
    assert check_study(parse_study(fine), ()) == []


def test_a_plugin_option_in_a_grid_is_typed_at_its_item() -> None:
    from ablate._plugins import parse_ref

    text = (
        f"name: x\nplugins: [{FILM}]\nmodel: {{fusion: film}}\n"
        "grid:\n  model.fusion_options.hidden: [8, many]\n"
    )
    ref = parse_ref(str(FILM), base=Path("."))
    assert _error(text, (ref,)) == (
        "Bad value at grid['model.fusion_options.hidden'][1] in studies/x.yaml:5: Input "
        "should be a valid integer, unable to parse string as an integer (got 'many')."
    )


def test_unknown_loss_term() -> None:
    text = "name: x\nloss:\n  terms: {focl: {weight: 1.0}}\n"
    message = _error(text)
    assert message.startswith("Unknown loss term 'focl' at loss.terms.focl in studies/x.yaml:3")


def test_a_name_registered_twice_is_a_usage_error_naming_the_first() -> None:
    with pytest.raises(UsageError) as caught:
        register_fusion("concat", description="again")(lambda *, embed_dim: None)
    assert str(caught.value).startswith("fusion 'concat' is registered twice (first at ")
    assert "concat" in FUSIONS


def test_an_option_named_like_an_old_one_keeps_its_default() -> None:
    with pytest.raises(UsageError, match="option 'heads' must default to 4"):
        register_fusion("heady", description="x")(lambda *, embed_dim, heads=8: None)
    assert "heady" not in FUSIONS


def test_dry_run_imports_plugins_and_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "twice.py").write_text(
        "import ablate\n\n\n@ablate.register_fusion('twice_x', description='a')\n"
        "def one(*, embed_dim): ...\n\n\n"
        "@ablate.register_fusion('twice_x', description='b')\ndef two(*, embed_dim): ...\n"
    )
    study = tmp_path / "s.yaml"
    study.write_text("name: s\nplugins: [twice.py]\nmodel: {fusion: twice_x}\n")
    for _ in range(2):  # the failed import left nothing registered: the same error again
        result = CliRunner().invoke(app, ["run", str(study), "--dry-run"])
        assert result.exit_code == 2, result.output
        assert result.output == (
            f"error: {tmp_path / 'twice.py'}:8: fusion 'twice_x' is registered twice (first at "
            f"{tmp_path / 'twice.py'}:4); rename one of them.\n"
        )
