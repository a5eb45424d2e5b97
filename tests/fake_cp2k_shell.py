"""A stand-in for `cp2k.psmp -s` that speaks the CP2K shell protocol ASE uses, for the tests of
dpglass.reference.cp2k without CP2K: usage `python fake_cp2k_shell.py PLAN`.

PLAN is a file with one outcome per evaluation (EVAL_EF), consumed across shells:
  converged  write a converged SCF to the output file, return an energy of -1 eV per atom
  warn       CP2K 2023 on an unconverged SCF: write its warning, return the numbers anyway
  abort      CP2K 2024 on an unconverged SCF: write its error box and exit (the shell dies)
The input file CP2K would have run is kept as PLAN.inp.
"""

import sys
from pathlib import Path

plan = Path(sys.argv[1])
output = None
natoms = 0
WARNING = " *** WARNING in qs_scf.F:601 :: SCF run NOT converged ***\n"
ABORT = """ *******************************************************************************
 *   ___                                                                       *
 *  /   \\                                                                      *
 * [ABORT]                                                                     *
 *  \\___/    SCF run NOT converged. To continue the calculation regardless,    *
 *    |                please set the keyword IGNORE_CONVERGENCE_FAILURE.      *
 *  O/|                                                                        *
 * /| |                                                                        *
 * / \\                                                                qs_scf.F:611 *
 *******************************************************************************
"""


def ready():
    print("* READY", flush=True)


def append(text):
    with open(output, "a") as handle:
        handle.write(text)


ready()
for line in sys.stdin:
    command = line.split()
    if not command:
        continue
    if command[0] == "VERSION":
        print("CP2K Shell Version: 6.0", flush=True)
    elif command[0] == "WRITE_FILE":
        name, count = sys.stdin.readline().strip(), int(sys.stdin.readline())
        lines = [sys.stdin.readline().rstrip("\n") for _ in range(count)]
        assert sys.stdin.readline().strip() == "*END"
        Path(name).write_text("\n".join(lines))
        if name.endswith(".inp"):
            Path(f"{plan}.inp").write_text("\n".join(lines))
    elif command[0] == "LOAD":
        output = command[2]
        rows = [row.strip() for row in Path(command[1]).read_text().splitlines()]
        natoms = rows.index("&END COORD") - rows.index("&COORD") - 1
        append(" CP2K| version string:                          CP2K version 2099.9\n"
               " CP2K| source code revision number:                      git:fake\n"
               " CP2K| Data directory path                        /fake/data\n")
        print(1, flush=True)
    elif command[0] == "SET_CELL":
        for _ in range(3):
            sys.stdin.readline()
    elif command[0] == "SET_POS":
        count = int(sys.stdin.readline())
        for _ in range(count // 3):
            sys.stdin.readline()
        assert sys.stdin.readline().strip() == "*END"
        print("0.0", flush=True)
    elif command[0] == "EVAL_EF":
        outcomes = plan.read_text().split()
        outcome, rest = outcomes[0], outcomes[1:]
        plan.write_text("\n".join(rest))
        if outcome == "abort":
            append(ABORT)
            sys.exit(1)
        append(WARNING if outcome == "warn" else "  *** SCF run converged in    12 steps ***\n")
    elif command[0] == "GET_E":
        print(f"{-1.0 * natoms:.6f}", flush=True)
    elif command[0] == "GET_F":
        print(3 * natoms, flush=True)
        for _ in range(natoms):
            print("0.1 0.0 -0.1", flush=True)
        print("* END", flush=True)
    elif command[0] == "GET_STRESS":
        print("0.01 0 0 0 0.01 0 0 0 0.01", flush=True)
    elif command[0] == "EXIT":
        sys.exit(0)
    ready()
