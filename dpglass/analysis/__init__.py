"""Transport and structure analysis of MD trajectories, one question per module (import the module;
this package's face loads nothing, so the light ones stay light for snakemake's dry run).

    trajectory    frames of a LAMMPS dump or extxyz, unwrapped per species
    msd           the MSD of a set of ions (FFT, all time origins)
    diffusion     D from the MSD: the GLS fit, its window and error, β, the ion correlation
    conductivity  a trajectory's D, σ (tracer and collective), Haven ratio: the result JSON
    resolution    hop statistics, the He et al. error model, whether D is resolved
    arrhenius     Arrhenius/VFT fits over temperatures, replicas pooled
    glasses       glass-to-glass spread of D and σ at one temperature
    rdf           partial RDFs, coordination, the Al–O network (network)
    rdf_files     RDFs of a trajectory file (what `dpglass rdf` and the workflow call)
    scattering    total scattering S(Q), G(r)
    hops, density, species_msd, mechanism   the mechanism outputs
"""
