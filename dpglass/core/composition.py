"""Chemical formulas: parsing, charge neutrality and integer cells. Pure Python, no heavy imports."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

# Formal oxidation states of the elements these glasses are made of.
OXIDATION_STATES = {"Li": 1, "Na": 1, "K": 1, "Mg": 2, "Ca": 2, "Al": 3, "Ga": 3, "B": 3,
                    "Si": 4, "P": 5, "O": -2, "S": -2, "Se": -2, "F": -1, "Cl": -1, "Br": -1, "I": -1}
# The same states as ionic charges (e) for the collective (charge) displacement.
FORMAL_CHARGES = {element: float(state) for element, state in OXIDATION_STATES.items()}

# Canonical species order: the one place that fixes LAMMPS type numbers and DeePMD type_map order.
SPECIES_ORDER = ["Li", "Na", "K", "Mg", "Ca", "Al", "Ga", "B", "Si", "P",
                 "Cl", "F", "Br", "I", "O", "S", "Se"]

_TOKEN = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d+)?|\.\d+)?")


class FormulaError(ValueError):
    """A formula that cannot be turned into a neutral integer cell."""


@dataclass(frozen=True)
class Formula:
    """A formula with rational per-formula-unit counts, e.g. LiAlCl2.5O0.75."""

    text: str
    counts: dict[str, Fraction]

    @property
    def elements(self) -> list[str]:
        return sorted(self.counts, key=SPECIES_ORDER.index)

    @property
    def net_charge(self) -> Fraction:
        return sum(OXIDATION_STATES[el] * n for el, n in self.counts.items())

    @property
    def units_per_block(self) -> int:
        """Smallest number of formula units with whole atom counts (4 for LiAlCl2.5O0.75)."""
        return math.lcm(*(n.denominator for n in self.counts.values()))

    @property
    def atoms_per_formula_unit(self) -> Fraction:
        return sum(self.counts.values(), Fraction(0))

    def formula_units_for(self, n_atoms_target: int) -> int:
        """Smallest whole-atom number of formula units with at least `n_atoms_target` atoms."""
        block = self.units_per_block
        blocks = max(1, math.ceil(n_atoms_target / (self.atoms_per_formula_unit * block)))
        return blocks * block

    def counts_for_units(self, formula_units: int) -> dict[str, int]:
        """Atom counts of `formula_units` formula units; raises if a count is not whole."""
        if not isinstance(formula_units, int) or formula_units < 1:
            raise FormulaError(f"formula {self.text!r}: formula_units must be a positive integer, "
                               f"got {formula_units!r}")
        scaled = {el: self.counts[el] * formula_units for el in self.elements}
        fractional = {el: n for el, n in scaled.items() if n.denominator != 1}
        if fractional:
            shown = ", ".join(f"{el} {float(n):g}" for el, n in fractional.items())
            raise FormulaError(
                f"formula {self.text!r}: {formula_units} formula units give fractional counts "
                f"({shown}); use a multiple of {self.units_per_block}")
        return {el: int(n) for el, n in scaled.items()}

    def integer_counts(self, n_atoms_target: int | None = None,
                       formula_units: int | None = None) -> dict[str, int]:
        """Atom counts of the cell: `formula_units` if given, else the smallest whole cell with at
        least `n_atoms_target` atoms."""
        if formula_units is not None:
            return self.counts_for_units(formula_units)
        if n_atoms_target is None:
            raise FormulaError(f"formula {self.text!r}: give n_atoms or formula_units")
        return self.counts_for_units(self.formula_units_for(n_atoms_target))


def parse_formula(text: str) -> Formula:
    """Parse 'LiAlCl2.5O0.75' into element counts; reject unknown elements and malformed text."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError(f"formula {text!r}: empty")
    stripped = text.strip()
    pos = 0
    counts: dict[str, Fraction] = {}
    for match in _TOKEN.finditer(stripped):
        if match.start() != pos:
            raise FormulaError(f"formula {text!r}: cannot read {stripped[pos:]!r}")
        element, number = match.group(1), match.group(2)
        if element not in OXIDATION_STATES:
            raise FormulaError(
                f"formula {text!r}: unknown element {element!r} "
                f"(known: {', '.join(sorted(OXIDATION_STATES))})")
        count = Fraction(number).limit_denominator(1000) if number else Fraction(1)
        if count <= 0:
            raise FormulaError(f"formula {text!r}: count of {element} must be positive")
        counts[element] = counts.get(element, Fraction(0)) + count
        pos = match.end()
    if pos != len(stripped) or not counts:
        raise FormulaError(f"formula {text!r}: cannot read {stripped[pos:]!r}")
    return Formula(stripped, counts)


def check_neutral(formula: Formula) -> None:
    """Raise if the formula is not charge neutral with the formal oxidation states."""
    charge = formula.net_charge
    if charge != 0:
        states = ", ".join(f"{el} {OXIDATION_STATES[el]:+d}" for el in formula.elements)
        raise FormulaError(
            f"formula {formula.text!r} is not charge neutral: net charge {float(charge):+g} e "
            f"per formula unit (oxidation states {states})")


def type_map(formulas: list[Formula]) -> list[str]:
    """Union of the species of all formulas, in the canonical order."""
    species = {el for f in formulas for el in f.counts}
    return sorted(species, key=SPECIES_ORDER.index)
