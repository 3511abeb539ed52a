"""An objective for the output tests (worker processes import it by module name)."""


def prints(params, trial):
    """What it prints goes to the study's workers.log."""
    print("a line of the trial's output", flush=True)
    return 1.0
