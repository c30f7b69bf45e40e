"""Training recipes: how each learned method takes one optimisation step. A method's registry entry names its
recipe class (harness/methods/registry.py: `recipe`, "module:attr"); a method without one cannot be trained,
and no recipe is ever chosen by looking at the model's class. What differs between recipes is said by the
recipe itself (class attributes and hooks), so nothing outside a recipe asks which recipe it is.

    iph          iph.losses.Objective (L1 + luminance matching + consistency + triplets); DDP; Adam (0.9, 0.999)
                 over the model and, for H-Net alone, the style encoder the objective trains beside it
    bargainnet   L1 + the two domain-code triplets (baselines.bargainnet.training_loss); DDP; Adam (0.5, 0.999)
    dovenet      L1 + GAN/verification loss with the domain-verification discriminator judging the raw
                 generator output, alternating D and G steps with two Adam optimizers (0.5, 0.999)
    rainnet      the same, the discriminator judging the output composited over the input
    harmonizer   foreground-normalised Charbonnier L1 + 10·MSE on every filter stage of items made from the truth
                 (dynamic loss), and × 10 on the composites' last stage (baselines.harmonizer.training_loss);
                 DDP; Adam (0.9, 0.999)
    idih, issam  the foreground-normalised MSE in the ImageNet-normalised space (baselines.ihblocks
                 .mask_weighted_mse, min_area from the model's config: 100 for iDIH, 1000 for iSSAM, as
                 officially); DDP; Adam (0.9, 0.999)
    pctnet       the same on the full-resolution output + 0.1 · parameter-map smoothness
                 (baselines.pctnet.training_loss); DDP; Adam (0.9, 0.999)
    pctnet-vit   the same, in its un-normalised [0, 1] space (ViT_pct's input_normalization is mean 0, std 1)

The GAN recipes average gradients with all_reduce themselves: DDP's reducer does not fit the alternating D/G
steps, the frozen-D generator pass and the double-backward gradient penalty. A recipe runs in plain PyTorch
(tests) or inside Ray Train workers (harness/train/loop.py), where `wrap` makes a module distributed.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from harness.errors import HarnessError, UnknownNameError

ALL = "all"  # the whole objective: the one loss every recipe trains (IPH's presets also name its ablations)


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
    """One method's training step on a batch of `composite`, `fg_mask`, `ref_mask`, `real` tensors."""

    loss_presets = False  # whether --loss / --loss-option choose among loss presets (else only ALL)

    @classmethod
    def model_overrides(cls, loss: str) -> dict[str, Any]:
        """Model config fields the loss preset `loss` implies (none by default)."""
        return {}

    def __init__(self, model, lr: float, loss=None, wrap: Callable | None = None) -> None:
        self.model = model
        self.lr = lr
        self.wrap = wrap or (lambda m: m)
        self.opts: dict = {}

    def optimizers(self) -> dict:
        return self.opts

    def extra_modules(self) -> dict:
        """Modules saved with the training state but not part of the checkpoint (discriminators)."""
        return {}

    def step(self, batch: dict) -> dict[str, float]:
        raise NotImplementedError


class _ObjectiveRecipe(Recipe):
    """One module computing the whole loss, wrapped in DDP, one optimizer."""

    gan_betas = False

    def __init__(self, model, lr: float, loss=None, wrap=None) -> None:
        super().__init__(model, lr, loss, wrap)
        self.inner = self.make_objective(model, loss).to(next(model.parameters()).device)
        self.objective = self.wrap(self.inner)
        # the objective's parameters: the model's, then any the loss trains beside it (IPH's H-Net-alone φ)
        self.opts = {"opt": _adam(self.inner.parameters(), lr, gan=self.gan_betas)}

    def make_objective(self, model, loss):
        raise NotImplementedError

    def step(self, batch: dict) -> dict[str, float]:
        opt = self.opts["opt"]
        opt.zero_grad(set_to_none=True)
        total, terms = self.objective(batch["composite"], batch["fg_mask"], batch["ref_mask"], batch["real"])
        total.backward()
        opt.step()
        return terms


class IPHRecipe(_ObjectiveRecipe):
    loss_presets = True  # the rows of the paper's ablation (iph/losses.py LOSS_PRESETS)

    @classmethod
    def model_overrides(cls, loss: str) -> dict[str, Any]:
        """"H-Net alone" (preset hnet) is the harmonizer without its style encoder."""
        return {"use_style_encoder": False} if loss == "hnet" else {}

    def make_objective(self, model, loss):
        from iph.losses import LOSS_PRESETS, Objective

        return Objective(model, LOSS_PRESETS[loss] if isinstance(loss, str) else (loss or LOSS_PRESETS[ALL]))

    def extra_modules(self) -> dict:
        """H-Net alone's loss-side style encoder (iph/losses.py) resumes with the training state."""
        return {} if self.inner.loss_encoder is None else {"loss_encoder": self.inner.loss_encoder}


class BargainNetRecipe(_ObjectiveRecipe):
    gan_betas = True

    def make_objective(self, model, loss):
        from torch import nn

        from baselines.bargainnet import training_loss

        class BargainObjective(nn.Module):  # one module so DDP sees the generator and the extractor
            def __init__(self, m) -> None:
                super().__init__()
                self.model = m

            def forward(self, composite, fg_mask, ref_mask, real):
                total, terms = training_loss(self.model, composite, real, fg_mask, ref_mask)
                return total, {**terms, "total": float(total.detach())}

        return BargainObjective(model)


class HarmonizerRecipe(_ObjectiveRecipe):
    def make_objective(self, model, loss):
        from torch import nn

        from baselines.harmonizer import training_loss

        class HarmonizerObjective(nn.Module):  # one module so DDP sees the network
            def __init__(self, m) -> None:
                super().__init__()
                self.model = m

            def forward(self, composite, fg_mask, ref_mask, real):
                return training_loss(self.model, composite, real, fg_mask)

        return HarmonizerObjective(model)


class MaskWeightedMSERecipe(_ObjectiveRecipe):
    def make_objective(self, model, loss):
        from torch import nn

        from baselines.ihblocks import mask_weighted_mse, normalize

        class MaskWeightedMSE(nn.Module):  # the official loss on the network's un-clamped normalised output
            def __init__(self, m) -> None:
                super().__init__()
                self.model = m

            def forward(self, composite, fg_mask, ref_mask, real):
                pred = self.model.predict_normalized(composite, fg_mask)
                total = mask_weighted_mse(pred, normalize(real), fg_mask, self.model.cfg.min_area)
                return total, {"mask_weighted_mse": float(total.detach()), "total": float(total.detach())}

        return MaskWeightedMSE(model)


class PCTNetRecipe(_ObjectiveRecipe):
    def make_objective(self, model, loss):
        from torch import nn

        from baselines.pctnet import training_loss

        class PCTNetObjective(nn.Module):  # one module so DDP sees the network
            def __init__(self, m) -> None:
                super().__init__()
                self.model = m

            def forward(self, composite, fg_mask, ref_mask, real):
                return training_loss(self.model, composite, fg_mask, real)

        return PCTNetObjective(model)


class GANRecipe(Recipe):
    """The official alternating D / G steps with the domain-verification discriminator."""

    judge_raw_output = False  # what D sees: the raw generator output, or the output composited over the input

    def __init__(self, model, lr: float, loss=None, wrap=None) -> None:
        super().__init__(model, lr, loss, wrap)
        device = next(model.parameters()).device
        self.netD = model.make_discriminator().to(device)
        self.opts = {"optG": _adam(model.parameters(), lr, True), "optD": _adam(self.netD.parameters(), lr, True)}

    def extra_modules(self) -> dict:
        return {"netD": self.netD}

    def step(self, batch: dict) -> dict[str, float]:
        from baselines.dovenet import discriminator_loss, generator_loss

        comp, fg, ref, real = batch["composite"], batch["fg_mask"], batch["ref_mask"], batch["real"]
        fake = self.model.generate(comp, fg, ref) if self.judge_raw_output else self.model(comp, fg, ref)
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


class DoveNetRecipe(GANRecipe):
    judge_raw_output = True  # Dove-Net's discriminator judges the raw generator output (official code)


class RainNetRecipe(GANRecipe):
    judge_raw_output = False


def recipe_for(method: str) -> type[Recipe]:
    """The recipe class the registry entry of `method` names (an error when it names none, or a missing one)."""
    from harness.methods.registry import learned_info, load

    info = learned_info(method)
    if info.recipe is None:
        raise HarnessError(f"method '{method}' names no training recipe: it cannot be trained")
    return load(info.recipe)


def _no_presets(method: str) -> HarnessError:
    return HarnessError(f"--loss/--loss-option choose a loss preset, and '{method}' has none: it trains its "
                        f"whole objective (--loss {ALL})")


def make_recipe(method: str, model, lr: float, loss=None, wrap: Callable | None = None) -> Recipe:
    """The training recipe of registered method `method` around `model`; `loss` is a loss preset name or an
    iph.losses.LossConfig, for recipes with loss presets (the others train ALL, their own objective)."""
    cls = recipe_for(method)
    if loss not in (None, ALL) and not cls.loss_presets:
        raise _no_presets(method)
    return cls(model, lr, loss, wrap)


def recipe_loss(cfg):
    """What `make_recipe` gets as `loss` for a TrainConfig: the LossConfig (preset + options) for recipes with
    loss presets, None for the others — where asking for one is an error."""
    if recipe_for(cfg.method).loss_presets:
        return loss_config(cfg.loss, cfg.loss_options)
    if cfg.loss != ALL or cfg.loss_options:
        raise _no_presets(cfg.method)
    return None


def loss_config(preset: str, options: dict[str, Any]):
    """IPH's LossConfig: the preset with `options` applied (strings coerced to each field's type)."""
    from iph.losses import LOSS_PRESETS, LossConfig

    if preset not in LOSS_PRESETS:
        raise UnknownNameError("loss preset", preset, list(LOSS_PRESETS))
    fields = {f.name for f in dataclasses.fields(LossConfig)}
    values = {}
    for key, value in options.items():
        if key not in fields:
            raise UnknownNameError("loss option", key, list(fields))
        kind = type(getattr(LOSS_PRESETS[preset], key))
        if kind is bool and isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0"):
                raise HarnessError(f"--loss-option {key}={value}: expected true or false")
            value = value.lower() in ("true", "1")
        try:
            values[key] = kind(value)
        except ValueError:
            raise HarnessError(f"--loss-option {key}={value}: expected a {kind.__name__}") from None
    return dataclasses.replace(LOSS_PRESETS[preset], **values)
