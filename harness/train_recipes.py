"""Training recipes for every learned method, and their training state saved without pickle.

A recipe owns one method's optimizers (and discriminator) and performs one training step on a batch of
`composite`, `fg_mask`, `ref_mask`, `real` tensors; harness/train.py runs it inside Ray Train workers, the
tests run it in plain PyTorch.

    iph                 iph.losses.Objective (L1 + luminance matching + consistency + triplets), DDP
    bargainnet, -r      L1 + the two domain-code triplets (baselines.bargainnet.training_loss), DDP
    dovenet, rainnet    L1 + GAN/verification with the domain-verification discriminator, two Adam optimizers;
                        gradients averaged with all_reduce (DDP's reducer does not fit the alternating D/G
                        steps, the frozen-D generator pass and the double-backward gradient penalty)

Training state = optimizer tensors and the discriminator's weights in one safetensors file, scalars and
param groups in a JSON beside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


# ---------------------------------------------------------------------------------------------- recipes
def _adam(params, lr: float, gan: bool):
    import torch

    # pix2pix-family baselines use β1 = 0.5 officially; IPH uses Adam's defaults.
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999) if gan else (0.9, 0.999))


def _all_reduce_grads(modules) -> None:
    """Average gradients over the workers (what DDP does), for the GAN recipes."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return
    world = dist.get_world_size()
    for m in modules:
        for p in m.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world


class Recipe:
    """One method's training step. `wrap` turns a module into its distributed form (DDP via Ray's
    prepare_model in workers, identity in plain PyTorch)."""

    gan = False

    def __init__(self, model, lr: float, loss="full", wrap=None) -> None:
        self.model = model
        self.lr = lr
        self.loss = loss
        self.wrap = wrap or (lambda m: m)

    def optimizers(self) -> dict:
        return self.opts

    def extra_modules(self) -> dict:
        """Modules saved with the training state but not part of the checkpoint (discriminators)."""
        return {}

    def step(self, batch: dict) -> dict[str, float]:
        raise NotImplementedError


class ObjectiveRecipe(Recipe):
    """IPH and Bargain-Net: one module computing the whole loss, wrapped in DDP, one optimizer."""

    def __init__(self, model, lr: float, loss="full", wrap=None) -> None:
        super().__init__(model, lr, loss, wrap)
        self.objective = self.wrap(_objective(model, loss))
        self.opts = {"opt": _adam(model.parameters(), lr, gan=not _is_iph(model))}

    def step(self, batch: dict) -> dict[str, float]:
        opt = self.opts["opt"]
        opt.zero_grad(set_to_none=True)
        total, terms = self.objective(batch["composite"], batch["fg_mask"], batch["ref_mask"], batch["real"])
        total.backward()
        opt.step()
        return terms


class GANRecipe(Recipe):
    """Dove-Net and Rain-Net: the official alternating D / G steps with the verification discriminator."""

    gan = True

    def __init__(self, model, lr: float, loss="full", wrap=None) -> None:
        super().__init__(model, lr, loss, wrap)
        device = next(model.parameters()).device
        self.netD = model.make_discriminator().to(device)
        self.raw_output = model.__class__.__name__ == "DoveNet"  # Dove-Net's D judges the raw G output
        self.opts = {"optG": _adam(model.parameters(), lr, True), "optD": _adam(self.netD.parameters(), lr, True)}

    def extra_modules(self) -> dict:
        return {"netD": self.netD}

    def step(self, batch: dict) -> dict[str, float]:
        from baselines.dovenet import discriminator_loss, generator_loss

        comp, fg, ref, real = batch["composite"], batch["fg_mask"], batch["ref_mask"], batch["real"]
        fake = self.model.generate(comp, fg, ref) if self.raw_output else self.model(comp, fg, ref)
        self.netD.requires_grad_(True)
        self.opts["optD"].zero_grad(set_to_none=True)
        loss_d, terms_d = discriminator_loss(self.netD, fake, real, fg)
        loss_d.backward()
        _all_reduce_grads([self.netD])
        self.opts["optD"].step()
        self.netD.requires_grad_(False)  # frozen for the generator step, as in the official loop
        self.opts["optG"].zero_grad(set_to_none=True)
        loss_g, terms_g = generator_loss(self.netD, fake, real, fg)
        loss_g.backward()
        _all_reduce_grads([self.model])
        self.opts["optG"].step()
        return {**terms_d, **terms_g, "loss_D": float(loss_d.detach()), "loss_G": float(loss_g.detach()),
                "total": float(terms_g["G_L1"])}


def _is_iph(model) -> bool:
    from iph.model import IPH

    return isinstance(model, IPH)


def _objective(model, loss):
    import torch
    from torch import nn

    if _is_iph(model):
        from iph.losses import PRESETS, Objective

        return Objective(model, PRESETS[loss] if isinstance(loss, str) else loss)

    from baselines.bargainnet import training_loss

    class BargainObjective(nn.Module):  # one module so DDP sees G and E
        def __init__(self, m) -> None:
            super().__init__()
            self.model = m

        def forward(self, composite: torch.Tensor, fg_mask: torch.Tensor, ref_mask: torch.Tensor,
                    real: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
            total, terms = training_loss(self.model, composite, real, fg_mask, ref_mask)
            return total, {**terms, "total": float(total.detach())}

    return BargainObjective(model)


def make_recipe(model, lr: float, loss="full", wrap=None) -> Recipe:
    """The training recipe for a registered model (plain PyTorch unless `wrap` distributes it); `loss` is an
    IPH preset name or an iph.losses.LossConfig (ignored by the baselines)."""
    if hasattr(model, "make_discriminator"):
        return GANRecipe(model, lr, loss, wrap)
    return ObjectiveRecipe(model, lr, loss, wrap)


# ------------------------------------------------------------------------------------ training state I/O
def save_training_state(recipe: Recipe, weights_path: Path, state_json: Path, step: int) -> None:
    """Optimizer states and extra modules as flat tensors (safetensors) + scalars/param groups (JSON)."""
    import torch
    from safetensors.torch import save_file

    tensors: dict[str, Any] = {}
    meta: dict[str, Any] = {"step": int(step), "optimizers": {}, "modules": sorted(recipe.extra_modules())}
    for name, opt in recipe.optimizers().items():
        sd = opt.state_dict()
        scalars = {}
        for pid, st in sd["state"].items():
            for k, v in st.items():
                if torch.is_tensor(v):
                    tensors[f"{name}.state.{pid}.{k}"] = v.detach().cpu().contiguous()
                else:
                    scalars[f"{pid}.{k}"] = v
        meta["optimizers"][name] = {"param_groups": sd["param_groups"], "scalars": scalars}
    for name, module in recipe.extra_modules().items():
        for k, v in module.state_dict().items():
            tensors[f"{name}.{k}"] = v.detach().cpu().contiguous()
    tmp = weights_path.with_name(weights_path.name + ".tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, weights_path)
    tmp = state_json.with_name(state_json.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, state_json)


def load_training_state(recipe: Recipe, weights_path: Path, state_json: Path) -> int:
    """Restore what `save_training_state` wrote; returns the step. No pickle anywhere."""
    import torch
    from safetensors.torch import load_file

    meta = json.loads(state_json.read_text())
    tensors = load_file(str(weights_path))
    for name, opt in recipe.optimizers().items():
        saved = meta["optimizers"][name]
        state: dict[int, dict[str, Any]] = {}
        prefix = f"{name}.state."
        for key, value in tensors.items():
            if key.startswith(prefix):
                pid, k = key[len(prefix):].split(".", 1)
                state.setdefault(int(pid), {})[k] = value
        for key, value in saved["scalars"].items():
            pid, k = key.split(".", 1)
            state.setdefault(int(pid), {})[k] = value
        groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in saved["param_groups"]]
        opt.load_state_dict({"state": state, "param_groups": groups})
    for name, module in recipe.extra_modules().items():
        prefix = f"{name}."
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        module.load_state_dict(sd, strict=True)
        module.to(next(recipe.model.parameters()).device)
    # Optimizer tensors come back on the CPU; move them next to their parameters.
    device = next(recipe.model.parameters()).device
    for opt in recipe.optimizers().values():
        for st in opt.state.values():
            for k, v in st.items():
                if torch.is_tensor(v) and k != "step":
                    st[k] = v.to(device)
    return int(meta["step"])
