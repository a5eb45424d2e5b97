"""The top layer: one function per Snakemake rule, keyword arguments only; the scripts in scripts/
feed them from the `snakemake` object and nothing else imports them.

    workflow  the main chain's rules: start cell, melt-quench, labels, training, sweep, analysis,
              summary
    learning  the concurrent-learning loop's rules: explore, convergence, select, label, retrain
    rulelog   every rule's log file (stdout and stderr of the job into logs/)
"""
