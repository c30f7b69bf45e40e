"""Training budgets of the experiment commands: named, documented, each field overridable (`--set KEY=VALUE`).

Every arm and seed of an experiment trains with the same budget — the same data, stages, steps and learning
rates — so rows differ only in what the arm changes. Stage k starts from stage k−1's weights (harness/train:
stage 1 = background as reference, stage 2 = a reference region, stage 3 = fine-tuning); data is the relit
generator over the held-out training photos (harness/train/relit.py), never an evaluation suite.

- `smoke`: the tiny model at 64², a few steps — seconds per trial; for tests and CI. Says nothing about IPH.
- `cpu`: the shipped `small` size at 128², batch 8 — minutes per trial on one core of a 2-core machine
  (≈0.35 s a step measured there, one trial per core), 500 + 250 steps: 15 trials (5 variants × 3 seeds) in
  ≈40 min. Learning rates 2e-4 / 1e-4 as for the
  shipped checkpoint (docs/checkpoints.md): at a few hundred CPU steps the paper's 1e-4 / 1e-5 barely move
  the weights. Validated at the end of each stage on held-out relit pairs (harness/train/validate.py).
- `gpu`: the paper's setting: the `full` size (≈27M parameters) at 256², batch 48, learning rates 1e-4, 1e-5,
  1e-6 for the three stages, one GPU per trial. The paper gives no step counts: 20k / 10k / 2k are ours.
  Stage 3 is meant for real portrait pairs; with the relit generator it continues on relit region pairs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError, UnknownNameError


@dataclass(frozen=True)
class Budget:
    size: str                      # model size: a key of the network family's SIZES (iph/model.py, baselines/)
    resolution: int                # square training crops, pixels a side (TrainConfig.resolution)
    batch_size: int                # per trial
    steps: tuple[int, ...]         # optimizer steps of stage 1, 2, …
    lr: tuple[float, ...]          # learning rate of each stage
    cpus_per_trial: float = 1.0    # torch threads too
    gpus_per_trial: float | None = None  # None: 1 when the cluster has GPUs, else 0
    log_every: int = 10            # steps between logged losses (the training curves)
    checkpoint_every: int = 100    # steps between periodic checkpoints (what a resumed trial restarts from)
    validate: bool = True          # held-out relit validation at the end of each stage
    pairs: str = "both"            # relit pairs: regions, lights or both (harness/train/relit.py)

    def __post_init__(self) -> None:
        if not self.steps or len(self.steps) != len(self.lr) or len(self.steps) > 3:
            raise HarnessError(f"budget: steps and lr need one entry per stage (1–3 stages), got steps="
                               f"{list(self.steps)} lr={list(self.lr)}")
        if any(s < 1 for s in self.steps) or any(x <= 0 for x in self.lr):
            raise HarnessError("budget: steps must be ≥ 1 and learning rates > 0")
        for name in ("resolution", "batch_size", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise HarnessError(f"budget: {name} must be ≥ 1")
        if self.cpus_per_trial <= 0:
            raise HarnessError("budget: cpus_per_trial must be > 0")

    @property
    def total_steps(self) -> int:
        return sum(self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


BUDGETS: dict[str, Budget] = {
    "smoke": Budget(size="tiny", resolution=64, batch_size=2, steps=(6, 4), lr=(1e-3, 5e-4), log_every=2,
                    checkpoint_every=3, validate=False),
    "cpu": Budget(size="small", resolution=128, batch_size=8, steps=(500, 250), lr=(2e-4, 1e-4), log_every=25,
                  checkpoint_every=125),
    "gpu": Budget(size="full", resolution=256, batch_size=48, steps=(20_000, 10_000, 2_000), lr=(1e-4, 1e-5, 1e-6),
                  cpus_per_trial=4, gpus_per_trial=1, log_every=50, checkpoint_every=1000),
}


def _coerce(key: str, text: str, current: Any) -> Any:
    """`text` as the type of the field's current value (tuples: comma-separated)."""
    def one(kind: type, t: str) -> Any:
        if kind is bool:
            if t.lower() not in ("true", "false", "1", "0"):
                raise HarnessError(f"--set {key}={text}: expected true or false")
            return t.lower() in ("true", "1")
        try:
            return kind(t)
        except ValueError:
            raise HarnessError(f"--set {key}={text}: expected a {kind.__name__}") from None

    if isinstance(current, tuple):  # one value per stage; a single value stands for every stage
        kind = type(current[0])
        values = tuple(one(kind, t.strip()) for t in text.split(",") if t.strip())
        return values * len(current) if len(values) == 1 else values
    if key == "gpus_per_trial":
        return None if text.lower() in ("", "none", "auto") else one(float, text)
    return one(type(current) if current is not None else str, text)


def resolve_budget(name: str, overrides: dict[str, str] | None = None) -> Budget:
    """The named budget with `overrides` ({field: text}) applied; unknown names and fields: did-you-mean."""
    if name not in BUDGETS:
        raise UnknownNameError("budget", name, list(BUDGETS))
    base = BUDGETS[name]
    fields = {f.name for f in dataclasses.fields(Budget)}
    values = {}
    for key, text in (overrides or {}).items():
        if key not in fields:
            raise UnknownNameError("budget field (--set)", key, sorted(fields))
        values[key] = _coerce(key, str(text), getattr(base, key))
    return dataclasses.replace(base, **values)
