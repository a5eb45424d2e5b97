"""DeePMD-kit stage, one question per module.

    data         labelled frames -> deepmd/npy training/validation systems (time-block split)
    neighbors    `dp neighbor-stat` -> `sel`
    inputs       the input.json of an ensemble member
    dp           running a `dp` subcommand (threads, log, errors)
    train        `dp train` with restart from the last checkpoint
    member       one ensemble member trained, frozen and copied (the first training and every
                 retraining of the learning loop), or carried over unchanged
    compression  compressed vs frozen model on the validation frames
    evaluation   `dp test` RMSEs and the quality gate
    backends     the backend -> `dp` flag and model-suffix maps

Everything here writes files a user can rerun by hand: `input.json` in the training work directory
is exactly what `dp train` gets, and every `dp` command line is printed to the rule log. Plots of
the learning curve and parity are in dpglass.report.figures.
"""
