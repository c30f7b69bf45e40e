"""Every method the harness can run — classical, learned, or from outside the project — in one registry.

Entries are data: lazy "module:attr" strings and constants, so listing names, descriptions and parameter
counts imports no model code and no torch (`harness list methods` starts in a fraction of a second). Every
miss gets did-you-mean suggestions.

Every entry declares its `options` (name → one-line help): the keys `name:key=value,...` accepts; any other
key is a one-line error listing them (`check_options`). A **learned** entry names
- `target`: the network's builder, `build(size="tiny", **overrides) -> nn.Module`; the builder's module
  defines `SIZES` (size name → config), the one list of that family's sizes (`model_sizes`): every family
  offers `tiny` (tests), `small` (the shipped CPU-trained checkpoints) and `full` (the published size);
- `recipe`: "module:attr" of its training recipe class (harness/train/recipes.py) — named, never guessed
  from the network's class; none: the network cannot be trained;
- `checkpoint`: the shipped checkpoint, relative to the repository (none: the user trains or passes one);
- `official`: "module:attr" of the loader for the authors' released `.pth` weights, if they exist;
- `params`: the parameter count of the full-size (published) network, so listing needs no model (a test
  builds every network on the meta device and checks it);
- `output`: what the authors' test script writes, and so what the method is scored on at its working
  resolution — `composited` (the output over the input outside the foreground: IPH, Rain-Net) or `raw` (the
  network's whole image: Dove-Net's and Bargain-Net's test.py score `output`, not the composite; iDIH's
  and iSSAM's predict_for_dir.py writes the image-fusion output, input and prediction blended everywhere);
- `upsample`: the method's own way up to the sample's resolution (harness/methods/highres.py): IPH's is its
  paper's colour `mapping`; a network whose authors give none takes `DEFAULT_UPSAMPLE`; `NATIVE` for a network
  that applies what it predicts at the input's own size itself (Harmonizer's filters): it is given the sample as
  it is and takes no way up (nor the `upsample` and `terms` options).

Every network follows one contract (plain PyTorch, nothing of the harness):

    forward(composite, fg_mask, ref_mask) -> harmonized
        composite N×3×H×W in [0, 1]; fg_mask, ref_mask N×1×H×W in [0, 1] (> 0.5 inside); harmonized N×3×H×W
        in [0, 1], equal to composite outside the foreground
    generate(composite, fg_mask, ref_mask) -> output   (networks whose `output` is raw: the whole image)
    predict(composite, fg_mask, ref_mask) -> harmonized (optional: the official script's own non-differentiable
        post-processing around forward, e.g. Harmonizer's 8-bit truncation)
    dither_mask: bool      (optional: the official script reads the mask file through PIL convert('1'))
    uses_reference: bool   (False: it reads the whole background, not the reference region)
    resolution: int        (its working size; the engine resizes to it and maps the result back up — a NATIVE
                            network takes any size and this is the size 256² protocols feed it as it is)
    input_multiple: int    (H and W must be multiples of it; 1 for a network that pads itself)
    cfg: a dataclass       (its whole configuration: checkpoints store it, so they rebuild exactly)

A **classical** entry's target is `fn(composite, fg_mask, ref_mask, **options) -> image` (numpy, any size).

**Methods from outside the project** (as lm-evaluation-harness takes outside tasks): `--methods
package.module:attr[:key=value,...]`, or an entry point in the group `harness.methods` (the entry point's name
is the method's name). `attr` is a class or factory called with the method's options as keyword string
arguments; what it returns provides

    harmonize(sample: harness.data.Sample) -> numpy array H×W×3 in [0, 1]
    uses_reference: bool        resolution: int | None   (optional; None = the sample's own size)

The engine checks every output (shape, finite, in [0, 1]) and scores it like any other method.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError, UnknownNameError, did_you_mean

ENTRY_POINT_GROUP = "harness.methods"
KINDS = ("classical", "learned", "external")


@dataclass(frozen=True)
class MethodInfo:
    """One registry entry (see the module docstring for what each field means per kind)."""

    name: str
    kind: str
    target: str  # "module:attr"
    description: str
    uses_reference: bool | None = None  # None: external methods declare it themselves
    resolution: int | None = None  # working size; None = the sample's own resolution
    recipe: str | None = None  # "module:attr" of the training recipe class
    checkpoint: str | None = None
    official: str | None = None
    params: int | None = None  # parameters of the full-size network
    options: Mapping[str, str] = field(default_factory=dict)  # option name → one-line help
    output: str = "composited"  # what the official test script writes: "composited" or "raw"
    upsample: str | None = None  # the method's own way up to native resolution; None: DEFAULT_UPSAMPLE

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]


# The ways up from a network's working resolution to the sample's (harness/methods/highres.py), and the one for
# a network whose authors give none — chosen by measurement: README "Scored as themselves".
UPSAMPLE = ("mapping", "residual", "bicubic")
DEFAULT_UPSAMPLE = "residual"
NATIVE = "native"  # the network applies its result at the input's own size: no way up is taken

# What every learned method accepts, whatever its network (harness/methods/learned.py reads them).
LEARNED_OPTIONS = {
    "checkpoint": "the weights: a .safetensors checkpoint, a folder of the official .pth files, or "
                  "models:/NAME@ALIAS",
    "terms": "upsample=mapping: the colour mapping's polynomial kernel: 4, 11 (default) or 17 terms",
    "upsample": "the way from the working resolution up to the sample's: mapping, residual or bicubic (default: "
                "the method's own, else " + DEFAULT_UPSAMPLE + ")",
}
# The IPH paper's guide-mask protocol, for networks that read a background mask: the same weights, the
# reference region in place of that mask.
GUIDE = {"guide": "background (default, as trained) or reference (the IPH paper's guide-mask protocol)"}


def _learned(name: str, target: str, description: str, *, uses_reference: bool, recipe: str, checkpoint: str,
             params: int, official: str | None = None, options: Mapping[str, str] | None = None,
             output: str = "composited", upsample: str | None = None) -> MethodInfo:
    common = {"checkpoint": LEARNED_OPTIONS["checkpoint"]} if upsample == NATIVE else LEARNED_OPTIONS
    return MethodInfo(name, "learned", target, description, uses_reference, 256, recipe, checkpoint, official,
                      params, {**common, **(options or {})}, output, upsample)


BUILTIN: dict[str, MethodInfo] = {m.name: m for m in (
    MethodInfo("composite", "classical", "harness.methods.classical:composite",
               "the composite unchanged (lower bound)", uses_reference=False),
    MethodInfo("reinhard", "classical", "harness.methods.classical:reinhard",
               "Reinhard 2001 colour transfer: fg CIELAB mean/std → reference's", uses_reference=True),
    MethodInfo("lum-match", "classical", "harness.methods.classical:lum_match",
               "fg L* p10/mean/p90 → reference's by a monotone curve, plus a*b* mean shift", uses_reference=True,
               options={"chroma": "share of the a*b* mean shift, in [0, 1] (default 1: the whole shift)",
                        "mean_iters": "nudges of the mid-tone anchor so the mean lands exactly (default 4)"}),
    _learned("iph", "iph.model:build", "IPH (Valanarasu et al. 2023): style encoder + AdaIN harmonizer",
             uses_reference=True, recipe="harness.train.recipes:IPHRecipe",
             checkpoint="iph/checkpoints/iph.safetensors", params=28_871_075, upsample="mapping",
             options={"r1": "§7 style blending: weight of the reference's style code (default 1)",
                      "r2": "§7 style blending: weight of the second region's code (default 0)",
                      "blend_with": "the second region: foreground (default) or background"}),
    _learned("dovenet", "baselines.dovenet:build", "Dove-Net (Cong et al. 2020): attention U-Net + domain "
             "verification", uses_reference=False, recipe="harness.train.recipes:DoveNetRecipe",
             checkpoint="baselines/checkpoints/dovenet.safetensors", params=54_759_939,
             official="baselines.dovenet:load_official", output="raw"),
    _learned("bargainnet", "baselines.bargainnet:build", "Bargain-Net (Cong et al. 2021): background domain code",
             uses_reference=False, recipe="harness.train.recipes:BargainNetRecipe",
             checkpoint="baselines/checkpoints/bargainnet.safetensors", params=58_695_700,
             official="baselines.bargainnet:load_official", options=GUIDE, output="raw"),
    _learned("bargainnet-r", "baselines.bargainnet:build_r", "Bargain-Net (R): domain code from the reference "
             "region", uses_reference=True, recipe="harness.train.recipes:BargainNetRecipe",
             checkpoint="baselines/checkpoints/bargainnet-r.safetensors", params=58_695_700,
             official="baselines.bargainnet:load_official", output="raw"),
    _learned("rainnet", "baselines.rainnet:build", "Rain-Net (Ling et al. 2021): region-aware instance norm",
             uses_reference=False, recipe="harness.train.recipes:RainNetRecipe",
             checkpoint="baselines/checkpoints/rainnet.safetensors", params=54_759_043,
             official="baselines.rainnet:load_official", options=GUIDE),
    _learned("harmonizer", "baselines.harmonizer:build", "Harmonizer (Ke et al. 2022): EfficientNet-B0 → six "
             "white-box filters at full resolution", uses_reference=False,
             recipe="harness.train.recipes:HarmonizerRecipe", checkpoint="baselines/checkpoints/harmonizer.safetensors",
             params=4_726_882, official="baselines.harmonizer:load_official", upsample=NATIVE),
    _learned("idih", "baselines.idih:build", "iDIH (Sofiiuk et al. 2021): improved DIH encoder-decoder with "
             "image fusion", uses_reference=False, recipe="harness.train.recipes:MaskWeightedMSERecipe",
             checkpoint="baselines/checkpoints/idih.safetensors", params=8_301_284,
             official="baselines.idih:load_official", output="raw"),
    _learned("issam", "baselines.issam:build", "iSSAM (Sofiiuk et al. 2021): U-Net with spatial-separated "
             "attention and image fusion", uses_reference=False, recipe="harness.train.recipes:MaskWeightedMSERecipe",
             checkpoint="baselines/checkpoints/issam.safetensors", params=2_185_340,
             official="baselines.issam:load_official", output="raw"),
    _learned("pctnet", "baselines.pctnet:build", "PCT-Net CNN (Guerreiro et al. 2023): per-pixel colour transforms "
             "from an iSSAM backbone at 256², applied at full resolution", uses_reference=False,
             recipe="harness.train.recipes:PCTNetRecipe", checkpoint="baselines/checkpoints/pctnet.safetensors",
             params=2_185_736, official="baselines.pctnet:load_official", output="raw", upsample=NATIVE),
    _learned("pctnet-vit", "baselines.pctnet_vit:build", "PCT-Net ViT (Guerreiro et al. 2023): per-pixel colour "
             "transforms from a ViT at 256², applied at full resolution", uses_reference=False,
             recipe="harness.train.recipes:PCTNetRecipe", checkpoint="baselines/checkpoints/pctnet-vit.safetensors",
             params=4_809_896, official="baselines.pctnet_vit:load_official", upsample=NATIVE),
)}


def _entry_points() -> dict[str, MethodInfo]:
    """Methods that installed packages register under the `harness.methods` entry-point group."""
    from importlib.metadata import entry_points

    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in BUILTIN:
            continue  # a built-in name cannot be taken over by a plug-in
        found[ep.name] = MethodInfo(ep.name, "external", ep.value, f"plug-in from {ep.value}")
    return found


def all_methods() -> dict[str, MethodInfo]:
    """Built-in methods, then plug-ins from entry points, by name."""
    return {**BUILTIN, **_entry_points()}


def is_module_target(name: str) -> bool:
    """`package.module:attr` (a method from outside the project), as opposed to a registered name."""
    module, sep, attr = name.partition(":")
    return bool(sep) and "." in module and attr.isidentifier()


def get(name: str) -> MethodInfo:
    """The entry for a registered name or a `package.module:attr` target; did-you-mean on a miss."""
    if name in BUILTIN:
        return BUILTIN[name]
    if is_module_target(name):
        return MethodInfo(name, "external", name, f"from {name}")
    known = all_methods()
    if name not in known:
        raise UnknownNameError("method", name, list(known))
    return known[name]


def load(target: str) -> Any:
    """Import "module:attr" and return the attribute; a one-line error when either is missing."""
    module, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name and module.startswith(err.name):
            raise HarnessError(f"method '{target}': no module named '{err.name}'") from None
        raise
    try:
        return getattr(obj, attr)
    except AttributeError:
        public = [n for n in dir(obj) if not n.startswith("_")]
        raise UnknownNameError(f"attribute of {module}", attr, public) from None


def check_options(info: MethodInfo, given: Iterable[str]) -> None:
    """Every key in `given` is one of the entry's options; otherwise one line naming them (did-you-mean)."""
    unknown = [k for k in dict.fromkeys(given) if k not in info.options]
    if unknown:
        which = f"option '{unknown[0]}'" if len(unknown) == 1 else "options " + ", ".join(f"'{k}'" for k in unknown)
        hint = did_you_mean(unknown[0], info.options)
        raise HarnessError(f"method '{info.name}' has no {which} (its options: {', '.join(info.options) or 'none'})"
                           + (f".{hint}" if hint else ""))


def list_models() -> list[str]:
    """The learned methods (those with a network), sorted."""
    return sorted(n for n, m in BUILTIN.items() if m.kind == "learned")


def learned_info(name: str) -> MethodInfo:
    info = get(name)
    if info.kind != "learned":
        raise HarnessError(f"'{name}' is a {info.kind} method, not a trainable network "
                           f"(networks: {', '.join(list_models())})")
    return info


def create_model(name: str, size: str = "tiny", **overrides: Any):
    """Build a registered network: `create_model("iph", "full")`. Unknown names → did-you-mean; an unknown
    size or field → ValueError from the builder (with its own did-you-mean)."""
    return load(learned_info(name).target)(size, **overrides)


def model_sizes(name: str) -> Mapping[str, Any]:
    """The network family's `SIZES` (size name → config), from the builder's module: the one list of sizes."""
    return load(f"{learned_info(name).module}:SIZES")
