"""LAMMPS with `pair_style deepmd`, one question per module.

    loader     load LAMMPS (libmpi, the deepmd plugin) here, or the environment of a LAMMPS child
    inputs     run settings, the step plan (stages cut into chunks) and the in.lammps
    runner     the runner process (`python -m dpglass.lammps.runner RUN_DIR`) and its command line
    monitor    how far a run has got (for resuming and the ETA)
    errors     why a run failed, in words that say what to fix
    outputs    a finished run's joined trajectory; dropping its restart state
    deviation  the ensemble's model deviation along a run
    data       LAMMPS data files and supercell size
    jobs       a job of runs (the sweep's, an exploration's): plan, preflight, launch, resume

The sweep and the learning loop's explorations both run through jobs.

Layout of a run directory (the workflow declares only run.json and dump.lammpstrj as outputs, so
Snakemake never deletes the restart state of a killed job):

    in.lammps            the input; resumes from restart/last.restart when that file exists
    restart/             last.restart, written (atomically, via mv) at the end of every chunk
    chunks/              dump.NNNN.lammpstrj, one file per production chunk; a frame is in exactly one
    model_devi/          chunkNNNN.out, `pair_style deepmd ... out_file` per chunk
    progress.txt         one line per finished chunk (what the runner's ETA reads)
    dump.lammpstrj       the joined production trajectory, written only when the run is complete
"""
