"""Verdicts are applied after the MD, so changing them never reruns it: the summary flags
extrapolation from each run's recorded max force deviations with the config's trust levels."""

from dpglass.report.summary import extrapolation_flags
from dpglass.core.io import write_json
from dpglass.core.units import quantity


def test_summary_applies_the_configs_trust_levels_to_the_recorded_deviations(tmp_path):
    path = tmp_path / "run.json"
    # what sweep_md writes in the workflow: the deviations, no verdict (no trust levels in params)
    write_json(path, {"temperature": quantity(303, None, "K"), "replica": 0, "glass": 0,
                      "max_devi_f": quantity([0.1, 0.3, 0.5, 0.1], unit="eV/Å"),
                      "model_deviation": None, "extrapolating": None})
    strict = extrapolation_flags([str(path)], [0.2, 0.35], 0.2)[0]
    assert strict["extrapolating"] is True and strict["fraction_above_hi"]["value"] == 0.25
    assert strict["fraction_above_lo"]["value"] == 0.5
    loose = extrapolation_flags([str(path)], [0.4, 0.6], 0.2)[0]
    assert loose["extrapolating"] is False and loose["fraction_above_hi"]["value"] == 0.0
