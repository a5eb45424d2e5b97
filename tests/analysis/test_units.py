import json
import math

import pytest

from dpglass.core.units import einstein_conductivity_mS_per_cm, nernst_einstein_mS_per_cm, quantity


def test_nernst_einstein_matches_hand_computation():
    # N=100 Li+, V=1e4 Å^3 = 1e-26 m^3, T=300 K, D=1e-5 cm^2/s = 1e-9 m^2/s:
    # σ = 100 (1.602176634e-19 C)^2 1e-9 / (1e-26 · 1.380649e-23 · 300) S/m = 61.97 S/m
    expected_S_per_m = 100 * 1.602176634e-19**2 * 1e-9 / (1e-26 * 1.380649e-23 * 300)
    sigma = nernst_einstein_mS_per_cm(100, 1.0, 1e-5, 1e4, 300.0)
    assert sigma == pytest.approx(expected_S_per_m * 10, rel=1e-12)
    assert sigma == pytest.approx(619.7, rel=1e-3)


def test_charge_squared_and_collective_form_agree():
    # A divalent ion counts four times; the collective form with slope N q² 6D is the same number.
    assert nernst_einstein_mS_per_cm(10, 2.0, 1e-6, 5e3, 350.0) == pytest.approx(
        4 * nernst_einstein_mS_per_cm(10, 1.0, 1e-6, 5e3, 350.0))
    D_A2_per_ps = 1e-6 / 1e-4
    assert einstein_conductivity_mS_per_cm(10 * 6 * D_A2_per_ps, 5e3, 350.0) == pytest.approx(
        nernst_einstein_mS_per_cm(10, 1.0, 1e-6, 5e3, 350.0))


def test_quantity_is_json_native_and_nan_becomes_null():
    import numpy as np
    q = quantity(np.float64(2.5), float("nan"), "eV")
    assert q == {"value": 2.5, "error": None, "unit": "eV"}
    assert quantity(np.arange(3), None, "ps")["value"] == [0, 1, 2]
