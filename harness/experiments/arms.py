"""What an experiment compares: its arms. The paper's ablation (Table 3) is five fixed arms; a sweep's arms are
the product of its `--grid KEY=V1,V2,…` flags. Every arm runs with every seed, one Ray Tune trial each.

Table 3's rows, in its order (each adds one thing to the row above; every row keeps L_harm, L_consis and
L_triplet — see iph/losses.py for what that means for H-Net alone):

    hnet                     H-Net            the harmonizer alone: no style encoder, no AdaIN
    style                    + SE             the style encoder's code drives the harmonizer
    style+highlight          + L_highlight
    style+highlight+midtone  + L_mid-tone
    all                      + L_shadow       the whole objective

A grid key is any training option: a budget field (harness/experiments/budgets.py: lr, steps, batch_size,
resolution, size, pairs, …; a per-stage field takes one value for every stage), an IPH loss option
(iph/losses.py LossConfig: alpha, lam, beta, margin, …) or a model config field (iph/model.py IPHConfig:
style_dim, mid_blocks, …). An unknown key is a one-line error with did-you-mean.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError, UnknownNameError


@dataclass(frozen=True)
class Arm:
    name: str                                   # the row's name (MLflow param `variant`, JSON `name`)
    label: str                                  # the row as the table prints it
    method: str = "iph"
    loss: str = "all"                           # IPH loss preset (iph/losses.py LOSS_PRESETS)
    loss_options: dict[str, Any] = field(default_factory=dict)   # LossConfig fields replaced on the preset
    overrides: dict[str, Any] = field(default_factory=dict)      # model config fields
    budget: dict[str, str] = field(default_factory=dict)         # budget fields (text, as from --set)
    grid: dict[str, str] = field(default_factory=dict)           # the grid point (sweeps), as given

    def slug(self, index: int) -> str:
        """A directory name for the arm: no commas or '=' (checkpoint paths go into method specs)."""
        return f"{index:02d}-" + re.sub(r"[^A-Za-z0-9+._-]+", "_", self.name)[:48]


VARIANTS: tuple[Arm, ...] = (
    Arm("hnet", "H-Net", loss="hnet", overrides={"use_style_encoder": False}),
    Arm("style", "+ SE", loss="style"),
    Arm("style+highlight", "+ L_highlight", loss="style+highlight"),
    Arm("style+highlight+midtone", "+ L_mid-tone", loss="style+highlight+midtone"),
    Arm("all", "+ L_shadow", loss="all"),
)


def ablation_arms(names: list[str] | None = None) -> list[Arm]:
    """Table 3's rows (all, or the named ones), always in the table's order."""
    known = [a.name for a in VARIANTS]
    for n in names or []:
        if n not in known:
            raise UnknownNameError("ablation variant", n, known)
    if names is not None and not names:
        raise HarnessError("--variants: no variant given")
    return [a for a in VARIANTS if names is None or a.name in names]


def _model_fields(method: str, size: str) -> dict[str, Any]:
    """The model config fields of `method` and their values at `size` (builds the model: the driver only)."""
    from harness.methods.registry import create_model

    cfg = getattr(create_model(method, size), "cfg", None)
    return dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else {}


def _typed(key: str, text: str, current: Any) -> Any:
    kind = type(current)
    if kind is bool:
        if text.lower() not in ("true", "false", "1", "0"):
            raise HarnessError(f"--grid {key}={text}: expected true or false")
        return text.lower() in ("true", "1")
    if kind not in (int, float, str):
        raise HarnessError(f"--grid {key}: a {kind.__name__} field cannot be swept")
    try:
        return kind(text)
    except ValueError:
        raise HarnessError(f"--grid {key}={text}: expected a {kind.__name__}") from None


def grid_arms(method: str, loss: str, grid: list[tuple[str, list[str]]], size: str) -> list[Arm]:
    """One arm per point of the grid's product (the first key varies slowest), each key routed to the
    budget, the loss or the model; checked now (unknown key → did-you-mean; bad value → one line)."""
    from harness.experiments.budgets import Budget
    from harness.train.recipes import recipe_for

    from iph.losses import LossConfig

    if not grid:
        raise HarnessError("sweep: give at least one --grid KEY=V1,V2,…")
    budget_keys = {f.name for f in dataclasses.fields(Budget)}
    loss_keys = {f.name for f in dataclasses.fields(LossConfig)} if recipe_for(method).loss_presets else set()
    model = _model_fields(method, size)
    route: dict[str, str] = {}
    for key, _ in grid:
        if key in budget_keys:
            route[key] = "budget"
        elif key in loss_keys:
            route[key] = "loss"
        elif key in model:
            route[key] = "model"
        else:
            raise UnknownNameError(f"grid key for {method}", key, sorted(budget_keys | loss_keys | set(model)))
    arms = []
    for point in itertools.product(*[[(k, v) for v in vals] for k, vals in grid]):
        loss_options, overrides, budget = {}, {}, {}
        for key, text in point:
            if route[key] == "budget":
                budget[key] = text
            elif route[key] == "loss":
                loss_options[key] = _typed(key, text, getattr(LossConfig(), key))
            else:
                overrides[key] = _typed(key, text, model[key])
        name = ",".join(f"{k}={v}" for k, v in point)
        arms.append(Arm(name, name, method=method, loss=loss, loss_options=loss_options, overrides=overrides,
                        budget=budget, grid=dict(point)))
    return arms
