"""Model registry for the harmonization networks (IPH and the baselines).

Entries are lazy "module:builder" strings so that listing names imports no model code. Every builder has the
signature `build(size: str = "tiny", **overrides) -> nn.Module`, where `size` is "tiny" (seconds on a CPU,
used by tests) or "full" (the published size). Every model returned has the same surface:

    forward(composite, fg_mask, ref_mask) -> harmonized
        composite: N×3×H×W float in [0, 1];  fg_mask, ref_mask: N×1×H×W in [0, 1] (> 0.5 inside)
        harmonized: N×3×H×W in [0, 1], equal to `composite` outside the foreground (the network output is
        composited over the input with fg_mask), so only the foreground is ever changed.

and the attributes `uses_reference: bool` (False when it reads the whole background instead of the
reference region) and `resolution: int` (its working size; 256 for every published model).
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Callable

_MODELS: dict[str, str] = {
    "iph": "iph.model:build",
    "dovenet": "baselines.dovenet:build",
    "bargainnet": "baselines.bargainnet:build",
    "bargainnet-r": "baselines.bargainnet:build_r",
    "rainnet": "baselines.rainnet:build",
}


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_MODELS)


def get_builder(name: str) -> Callable[..., Any]:
    """The builder for `name`; a KeyError with did-you-mean suggestions for unknown names."""
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list(_MODELS), n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown model '{name}'.{hint} Known: {', '.join(list_models())}")
    module, attr = _MODELS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def create_model(name: str, size: str = "tiny", **overrides: Any):
    """Build a registered model: `create_model("iph", "full")`."""
    return get_builder(name)(size, **overrides)
