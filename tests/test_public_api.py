"""What a user imports from `tui_tuner` to write and try an objective."""

import subprocess
import sys


def test_your_objective_runs_outside_the_tuner_with_an_offline_trial():
    from tui_tuner import Trial, TrialPruned

    def objective(params, trial):  # the README's objective, as a user writes it
        loss = 1.0
        for epoch in range(3):
            loss *= params["decay"]
            trial.report(epoch, loss=loss, lr=0.1)
            if trial.should_prune():
                raise TrialPruned()
        return loss

    trial = Trial.offline(params={"decay": 0.5})
    assert objective({"decay": 0.5}, trial) == 0.125
    assert [step for step, _ in trial.reports] == [0, 1, 2] and trial.reports[-1][1] == {"loss": 0.125, "lr": 0.1}


def test_importing_the_public_api_loads_no_ui():
    code = "import sys, tui_tuner; tui_tuner.Trial.offline(); print('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
