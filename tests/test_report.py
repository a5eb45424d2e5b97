"""summary.md and the cross-composition table: the numbers, units, flags and paper values."""

from dpglass.core.paper import oxygen_per_al, paper_values
from dpglass.report.markdown import cross_composition, cross_composition_markdown, fmt, summary_markdown
from dpglass.core.units import quantity


def summary(formula="LiAlCl2.5O0.75", extrapolating=(False, True), ion="Li"):
    temps = (303.0, 333.0)
    return {
        "composition": "X", "formula": formula, "ion": ion,
        "Ea": quantity(0.31, 0.02, "eV"), "sigma_303K": quantity(1.4, 0.3, "mS/cm"),
        "arrhenius": {"window": quantity([303, 378], None, "K"),
                      "model_comparison": {"range": quantity([213, 393], None, "K"),
                                           "n_points": quantity(8, None, "1"), "criterion": "AICc",
                                           "verdict": "VFT preferred"}},
        "transport": [{"temperature": quantity(t, None, "K"), "D": quantity(1e-7, 2e-8, "cm^2/s"),
                       "diffusive": True} for t in temps],
        "extrapolation": [{"temperature": quantity(t, None, "K"), "extrapolating": flag,
                           "fraction_above_hi": quantity(0.5 if flag else 0.0, None, "1")}
                          for t, flag in zip(temps, extrapolating)],
        "model_quality": [{"energy_rmse": quantity(2.0, None, "meV/atom"),
                           "force_rmse": quantity(90.0, None, "meV/Å")}],
        "paper": paper_values(formula), "provenance": {"packages": {"ase": "3.29.0"}},
    }


def test_fmt_carries_value_error_and_unit():
    assert fmt(quantity(0.30123, 0.0123, "eV")) == "0.301 ± 0.012 eV"
    assert fmt(quantity(256.35, None, "K")) == "256 K"
    assert fmt(None) == "—"


def test_summary_markdown_has_headline_flags_and_paper_side_by_side():
    text = summary_markdown(summary())
    assert "**0.31 ± 0.02 eV**" in text and "**1.4 ± 0.3 mS/cm**" in text
    assert "Arrhenius vs VFT over 213–393 K (8 temperatures), by AICc: VFT preferred" in text
    assert "Extrapolation warning" in text and "1 of 2 runs (333 K)" in text
    row = next(line for line in text.splitlines() if line.startswith("| 333 |"))
    assert row.endswith("| yes [1] |")  # the reason is a note under the table, not in the cell
    assert "- [1] 333 K: the ensemble extrapolates, 50 % of frames above the high trust level" in text
    assert "| Ea_md_303_378K | eV | 0.3 | 0.31 ± 0.02 |" in text
    assert "Extrapolation warning" not in summary_markdown(summary(extrapolating=(False, False)))


def test_summary_markdown_names_the_compositions_own_ion():
    li = summary_markdown(summary())
    assert "| D(Li) (cm²/s) |" in li and "σ Li collective" in li and "Haven ratio (Li)" in li
    na = summary_markdown(summary("NaAlCl2.5O0.75", ion="Na"))
    assert "| D(Na) (cm²/s) |" in na and "σ Na collective" in na and "Haven ratio (Na)" in na
    assert "Li" not in na.replace("NaAlCl2.5O0.75", "")


def test_paper_values_only_for_the_papers_compositions():
    assert paper_values("LiAlCl2.50O0.75")["sigma_303K_experiment"]["value"] == 1.52
    assert paper_values("Li1.5AlCl3O0.75") == {}
    assert oxygen_per_al("Li0.5AlCl2O0.75") == 0.75 and oxygen_per_al("LiAlCl4") == 0.0


def test_cross_composition_sorted_by_oxygen_content():
    table = cross_composition([summary("LiAlCl2.5O0.75"), summary("LiAlCl3.5O0.25")])
    assert [r["O_per_Al"]["value"] for r in table["compositions"]] == [0.25, 0.75]
    text = cross_composition_markdown(table)
    assert "| composition | formula | O/Al | Ea (eV) | σ(303 K) (mS/cm) |" in text
    assert "| X | LiAlCl3.5O0.25 | 0.25 | 0.31 ± 0.02 | 1.4 ± 0.3 |" in text


def transport_table(text):
    lines = text[text.index("## Transport per temperature"):].splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| T (K)"))
    table = []
    for line in lines[header:]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip("|").split("|")])
    return table[0], {row[0]: dict(zip(table[0], row)) for row in table[2:]}


def test_unresolved_quantities_read_as_not_resolved_with_a_bound_and_reasons_are_notes():
    """The demo's table had '-161 ± 1.4e+03 mS/cm' and 150-character sentences in its cells."""
    base = summary(extrapolating=(False, False))
    caged, hot = base["transport"]
    caged.update({"diffusive": False, "D_upper_bound": quantity(3e-7, None, "cm^2/s"),
                  "sigma_tracer": quantity(0.2, 0.01, "mS/cm"),
                  "sigma_tracer_upper_bound": quantity(0.8, None, "mS/cm"),
                  "sigma_collective": quantity(-161.0, 1.4e3, "mS/cm"),
                  "sigma_collective_ion": quantity(-2.24e3, 6.6e3, "mS/cm"),
                  "haven_ratio_ion": quantity(0.5, 0.9, "1"),
                  "not_diffusive_because": [
                      "MSD log-log slope β = 0.42 ± 0.05 over the window, not 1 ± 0.15",
                      "MSD at the window start 0.8 Å² is below the hop distance squared (2 Å)²"]})
    hot.update({"sigma_tracer": quantity(1.2, 0.2, "mS/cm"),
                "sigma_collective": quantity(-3.0, 2.5, "mS/cm"),
                "sigma_collective_ion": quantity(2.0, 0.5, "mS/cm"),
                "haven_ratio_ion": quantity(0.6, 0.2, "1"),
                # a reason of another kind, rendered from its field alone
                "upper_bound_because": "12 hops per ion: effective sample 96"})
    text = summary_markdown(base)
    header, rows = transport_table(text)
    assert header[2:6] == ["D(Li) (cm²/s)", "σ tracer (mS/cm)", "σ Li collective (mS/cm)",
                           "σ total (mS/cm)"]
    cold, warm = rows["303"], rows["333"]
    assert cold["D(Li) (cm²/s)"] == "not resolved (< 3e-07)"
    assert cold["σ tracer (mS/cm)"] == "not resolved (< 0.8)"
    # not diffusive, and |value| < 2σ: the bound is max(value, 0) + 2σ, never a negative σ
    assert cold["σ total (mS/cm)"] == "not resolved (< 2.8e+03)"
    assert cold["σ Li collective (mS/cm)"] == "not resolved (< 1.3e+04)"
    assert cold["Haven ratio (Li)"] == "not resolved"
    assert cold["diffusive"] == "no [1]"
    assert warm["σ total (mS/cm)"] == "not resolved (< 5)"  # |-3| < 2 × 2.5, diffusive
    assert warm["σ Li collective (mS/cm)"] == "2 ± 0.5" and warm["Haven ratio (Li)"] == "0.6 ± 0.2"
    assert warm["diffusive"] == "yes [2]"
    assert ("- [1] 303 K: not diffusive: MSD log-log slope β = 0.42 ± 0.05 over the window, not "
            "1 ± 0.15; MSD at the window start 0.8 Å² is below the hop distance squared (2 Å)²"
            in text)
    assert "- [2] 333 K: upper bound: 12 hops per ion: effective sample 96" in text
    for row in rows.values():  # numbers and short words only; units live in the header
        assert all(len(cell) <= 26 for cell in row.values()), row
        assert not any(unit in cell for cell in row.values() for unit in ("mS/cm", "cm²/s"))
    assert "-161" not in text and "-2.24e+03" not in text


def test_resolution_line_names_the_single_criterion_and_the_run_length_that_passes():
    from dpglass.report.markdown import resolution_lines

    def q(value, unit="1"):
        return quantity(value, None, unit)

    row = {"temperature": q(600.0, unit="K"), "diffusive": False,
           "hop_statistics": {"hop_distance": q(2.0, unit="Å"), "run_length": q(13.9, unit="ps"),
                              "hops_per_ion": q(3.5), "hop_events": q(674.0),
                              "expected_relative_error": q(0.13), "upper_bound": True},
           "resolution": {"resolved": False, "refused_by": ["hop"], "single_criterion": "hop",
                          "run_length_to_pass": q(15.4, unit="ps"),
                          "run_length_is_lower_limit": False,
                          "expected_relative_error_at_that_length": q(0.137)}}
    resolved = {"temperature": q(700.0, unit="K"), "diffusive": True,
                "hop_statistics": {**row["hop_statistics"], "effective_hop_events": q(1400.0),
                                   "upper_bound": False},
                "resolution": {"resolved": True, "refused_by": []}}
    lines = resolution_lines([row, resolved, {"temperature": q(800.0, unit="K")}])
    assert lines[-2] == ("- 600 K: upper bound: in 13.9 ps the ions made at most 3.5 hops of 2 Å "
                         "each; refused by one criterion alone, hop (one hop per ion by the "
                         "window start) (β and the non-Gaussian parameter pass; kinisi and "
                         "pymatgen-analysis-diffusion would report a D); a run of 15.4 ps would "
                         "pass the hop criterion (He et al. expect ±14% then)")
    assert lines[-1] == ("- 700 K: resolved: 674 hop events of 2 Å (3.5 per ion in 13.9 ps), He "
                         "et al. expect ±13%; the fitted error is worth 1.4e+03 independent hops")


def test_label_line_names_the_code_once():
    """CP2K's version line names the code itself ('CP2K version 2023.1 (git:...)'); VASP's
    ('6.4.2') does not. The chain with CP2K labels printed 'CP2K CP2K version 2023.1'."""
    from dpglass.report.markdown import label_line

    cp2k = {"code": "CP2K", "version": "CP2K version 2023.1 (git:b888bd8)", "functional": "PBE",
            "basis_set": "DZVP-MOLOPT-SR-GTH", "pseudopotential": "GTH-PBE",
            "cutoff": {"value": 300.0, "error": None, "unit": "Ry"},
            "sources": [{"frames_labelled": 11}, {"frames_labelled": 30}]}
    assert label_line(cp2k) == ("CP2K version 2023.1 (git:b888bd8): PBE, DZVP-MOLOPT-SR-GTH "
                                "basis, GTH-PBE pseudopotentials, cutoff 300 Ry (41 frames)")
    vasp = {"code": "VASP", "version": "6.4.2", "functional": "PBE", "sources": []}
    assert label_line(vasp) == "VASP 6.4.2: PBE (0 frames)"
    assert label_line({"code": "CP2K", "sources": []}) == "CP2K version unknown (0 frames)"
