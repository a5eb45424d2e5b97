"""The reference calculator's stage: everything that runs the teacher (CHGNet, SevenNet, EMT or a
DFT code) to make and label frames.

    calculators  pick, check and describe the reference calculator (make_calculator)
    cp2k         CP2K through ASE: settings, installation checks, SCF convergence
    labelling    resumable single points on frames (one labeller: melt-quench, loop, perturbed)
    cells        start cells from a formula (density, charge balance, closest pairs)
    meltquench   the melt-quench MD that makes the glass and its sampled frames
"""
