"""Experiments that retrain: the paper's ablation (`harness run-ablation`, Table 3) and training grids
(`harness sweep`), on Ray Tune.

    config (ExperimentConfig: arms × seeds, a budget) ──► one Tune trial per (arm, seed): train the stages
    (trial.py) ──► the engine evaluates every trained model on the suite (+ run-robustness) ──► rows in
    pandas ──► means with CIs over seeds and images, consecutive paired differences with Holm (summary.py) ──►
    terminal table / --json / MLflow (a parent run, one child per trial: harness/tracking/experiments.py)

budgets.py names the training budgets (smoke, cpu, gpu); arms.py the ablation's variants and the grids; tune.py
runs the trials (resumable with Tuner.restore); run.py ties it together.
"""
