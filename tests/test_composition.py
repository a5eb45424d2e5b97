"""Formulas: parsing, charge neutrality, whole-atom cells, and the config checks built on them."""

from fractions import Fraction

import pytest

from dpglass.core.composition import FormulaError, check_neutral, parse_formula
from dpglass.config import ConfigError, validate_config

PAPER_FORMULAS = {
    "LiAlCl4": {"Li": 1, "Al": 1, "Cl": 4},
    "LiAlCl2.5O0.75": {"Li": 1, "Al": 1, "Cl": Fraction(5, 2), "O": Fraction(3, 4)},
    "Li0.5AlCl2O0.75": {"Li": Fraction(1, 2), "Al": 1, "Cl": 2, "O": Fraction(3, 4)},
    "Li1.5AlCl3O0.75": {"Li": Fraction(3, 2), "Al": 1, "Cl": 3, "O": Fraction(3, 4)},
    "LiAlCl3.5O0.25": {"Li": 1, "Al": 1, "Cl": Fraction(7, 2), "O": Fraction(1, 4)},
    "NaAlCl2.5O0.75": {"Na": 1, "Al": 1, "Cl": Fraction(5, 2), "O": Fraction(3, 4)},
}


@pytest.mark.parametrize("text, counts", PAPER_FORMULAS.items())
def test_paper_formulas_parse_and_are_neutral(text, counts):
    formula = parse_formula(text)
    assert formula.counts == counts
    check_neutral(formula)


def test_sulfur_substituted_formula_is_rejected_with_its_net_charge():
    # Li2AlS2Cl3 with S2-: 2(+1) + 3 + 2(-2) + 3(-1) = -2 e; the paper's text, not a neutral formula.
    with pytest.raises(FormulaError, match=r"net charge -2 e"):
        check_neutral(parse_formula("Li2AlS2Cl3"))


def test_positive_net_charge_is_shown_with_sign():
    with pytest.raises(FormulaError, match=r"not charge neutral: net charge \+1 e"):
        check_neutral(parse_formula("LiAlCl3"))


@pytest.mark.parametrize("text, message", [
    ("LiAlXx4", "unknown element 'Xx'"),
    ("LiAl(Cl)4", "cannot read"),
    ("lialcl4", "cannot read"),
    ("Li-AlCl4", "cannot read"),
    ("", "empty"),
    ("LiAl0Cl4", "must be positive"),
    ("LiAlCl2.5.5", "cannot read"),
])
def test_bad_formulas_give_clear_errors(text, message):
    with pytest.raises(FormulaError, match=message):
        parse_formula(text)


def test_cell_from_target_atom_count_uses_whole_formula_units():
    laco = parse_formula("LiAlCl2.5O0.75")
    assert laco.units_per_block == 4
    assert laco.integer_counts(42) == {"Li": 8, "Al": 8, "Cl": 20, "O": 6}
    assert laco.integer_counts(21) == {"Li": 4, "Al": 4, "Cl": 10, "O": 3}
    assert sum(laco.integer_counts(160).values()) == 168  # 32 formula units, the first >= 160


def test_cell_from_formula_units():
    laco = parse_formula("LiAlCl2.5O0.75")
    assert laco.integer_counts(formula_units=8) == {"Li": 8, "Al": 8, "Cl": 20, "O": 6}
    with pytest.raises(FormulaError, match="multiple of 4"):
        laco.integer_counts(formula_units=6)
    assert parse_formula("LiAlCl4").integer_counts(formula_units=3) == {"Li": 3, "Al": 3, "Cl": 12}


def test_config_rejects_non_neutral_formula_naming_the_key():
    with pytest.raises(ConfigError, match=r"compositions\.LASC\.formula.*net charge -2 e"):
        validate_config({"compositions": {"LASC": {"formula": "Li2AlS2Cl3"}}})


def test_config_rejects_formula_units_with_fractional_counts():
    with pytest.raises(ConfigError, match=r"'formula_units' \(LACO75\).*multiple of 4"):
        validate_config({"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75", "formula_units": 6}}})
    with pytest.raises(ConfigError, match=r"structure\.formula_units"):
        validate_config({"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
                         "structure": {"formula_units": 2}})
    ok = validate_config({"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75", "formula_units": 8}}})
    assert ok["compositions"]["LACO75"]["formula_units"] == 8
