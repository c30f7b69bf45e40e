"""The evaluation protocols, named once: the harness's own, and exact reproductions of the two scripts that
published iHarmony4 numbers come from (harness/scoring/score.py does the scoring; README "Which protocol").

    protocol   resolution
    harness    native (the sample's own size, the default) or 256 (everything resized the harness's way)
    bcmi       256 (its script resizes everything to 256²)
    idih       256, 512 or longest1024 (evaluate_model.py's --resize-strategy Fixed256, the default,
               Fixed512 and LimitLongest1024: the longest side brought down to 1024 when it is longer)

`protocol_key` ("harness:native", "harness:256", "bcmi:256", "idih:256", "idih:512", "idih:longest1024") is the
one string that names how rows were scored: in tables, JSON and MLflow, and in every cache key.
`ProtocolOptions` is the option group of every command that scores (score, run-benchmark, run-robustness, the
experiments' evaluation). `working_size` is the size a protocol compares at, for a sample of a given size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.options import RUN, Options, option

PROTOCOLS = ("harness", "bcmi", "idih")
PEER_SIZE = 256  # the working size of the bcmi and idih protocols by default (both scripts' default: 256²)
NATIVE = "native"  # the sample's own resolution
LONGEST = "longest1024"  # iDIH's LimitLongest1024: the longest side at most 1024, the aspect ratio kept
LONGEST_SIDE = 1024
# The resolutions each protocol scores at, its default first. iDIH's script names them as its
# --resize-strategy choices do (scripts/evaluate_model.py, RESIZE_STRATEGIES).
RESOLUTIONS = {"harness": (NATIVE, str(PEER_SIZE)), "bcmi": (str(PEER_SIZE),),
               "idih": (str(PEER_SIZE), "512", LONGEST)}
IDIH_STRATEGIES = {str(PEER_SIZE): "Fixed256", "512": "Fixed512", LONGEST: "LimitLongest1024"}

PROTOCOL_HELP = (
    "evaluation protocol: `harness` = the harness's metrics (fixed PSNR peak 255, binary mask); `bcmi` = bcmi's "
    "iHarmony4 evaluation.py exactly (PIL 8-bit bicubic to 256², mask dithered to 1 bit, PSNR peak = prediction "
    "max − min) — compare with the bcmi leaderboard, Dove-Net, BargainNet; `idih` = iDIH's evaluate_model.py "
    "exactly (OpenCV bilinear to 256² — or 512², or the longest side ≤ 1024 with --resolution —, soft-mask "
    "weights, PSNR peak = truth max, +1e-6) — compare with iDIH/iSSAM and papers built on that code. See "
    "README, 'Which protocol'")


def check_protocol(protocol: Any, resolution: Any) -> str:
    """Check a protocol and resolution together; returns the effective resolution. `resolution` None means the
    protocol's own default: native for harness, 256 for bcmi and idih (their scripts fix the size: asking them
    for native is an error, not silently ignored)."""
    if protocol not in PROTOCOLS:
        raise HarnessError(f"--protocol must be {' or '.join(PROTOCOLS)}, not '{protocol}'")
    allowed = RESOLUTIONS[protocol]
    if resolution is None:
        return allowed[0]
    resolution = str(resolution)
    if resolution == "full":  # the name before "native": say what it is called now
        raise HarnessError("--resolution full is now called --resolution native (the sample's own size)")
    if resolution == str(LONGEST_SIDE) or resolution.lower() in ("limitlongest1024", "fixed512", "fixed256"):
        # the script's names, or a square 1024 it never had: say what the harness calls them
        name = {"fixed256": "256", "fixed512": "512"}.get(resolution.lower(), LONGEST)
        raise HarnessError(f"--resolution {resolution}: iDIH's {IDIH_STRATEGIES[name]} is --protocol idih "
                           f"--resolution {name}" + (" (the longest side ≤ 1024, not 1024²)"
                                                     if name == LONGEST else ""))
    every = dict.fromkeys(r for rs in RESOLUTIONS.values() for r in rs)
    if resolution not in every:
        raise HarnessError(f"--resolution must be {' or '.join(every)}, not '{resolution}'")
    if resolution not in allowed:
        sizes = {NATIVE: "the sample's own size", LONGEST: f"the longest side ≤ {LONGEST_SIDE}"}
        takes = " or ".join(sizes.get(r, f"{r}×{r}") for r in allowed)
        users = [p for p, rs in RESOLUTIONS.items() if resolution in rs]
        raise HarnessError(f"--protocol {protocol} scores at {takes} (--resolution {' or '.join(allowed)}), as "
                           f"its script does; "
                           f"--resolution {resolution} applies to --protocol {' or '.join(users)} only")
    return resolution


def protocol_key(protocol: str, resolution: str) -> str:
    return f"{protocol}:{resolution}"


def working_size(resolution: str, hw: tuple[int, int]) -> tuple[int, int] | None:
    """(height, width) a protocol at `resolution` compares a sample of size `hw` at; None at native. The
    longest1024 size is albumentations' LongestMaxSize as iDIH's LongestMaxSizeIfLarger calls it: unchanged
    when the longest side is below 1024 (or equal: scale 1), else each side × 1024 / longest, rounded half to
    even (its py3round)."""
    if resolution == NATIVE:
        return None
    if resolution != LONGEST:
        return int(resolution), int(resolution)
    h, w = int(hw[0]), int(hw[1])
    if max(h, w) <= LONGEST_SIDE:
        return h, w
    scale = LONGEST_SIDE / float(max(h, w))
    return round(h * scale), round(w * scale)


def takes_protocol_input(resolution: str, method_resolution: int | None) -> bool:
    """Whether a method is given the protocol's own resized input (and its raw output scored): at a square
    protocol size, a method that works at that size (a 256² network under a 256² protocol); under longest1024
    every method, as the script gives every model the limited image — a smaller image of the same shape,
    which any method takes as it takes a sample (a squashed square one would distort a native method)."""
    if resolution == LONGEST:
        return True
    return resolution.isdigit() and method_resolution == int(resolution)


@dataclass(kw_only=True)
class ProtocolOptions(Options):
    """`--protocol` and `--resolution`. After checking, `resolution` is concrete ("native", "256", "512",
    "longest1024")."""

    protocol: str = option("harness", group=RUN, choices=PROTOCOLS, help=PROTOCOL_HELP)
    resolution: str | None = option(
        None, group=RUN, help=f"--protocol harness: score at the sample's own size (`{NATIVE}`) or with "
        f"everything resized to {PEER_SIZE}² the harness's way (`{PEER_SIZE}`: float bicubic, area-averaged "
        f"mask — neither published protocol). bcmi and idih score at {PEER_SIZE}² by default, their scripts' way: "
        f"`{PEER_SIZE}` is accepted with them and changes nothing, `{NATIVE}` is refused; idih also takes `512` "
        f"(its script's Fixed512) and `{LONGEST}` (LimitLongest1024: the longest side brought down to "
        f"{LONGEST_SIDE} when longer, the aspect ratio kept)",
        shown=f"{NATIVE} for harness, {PEER_SIZE} for bcmi and idih")

    def _check(self) -> None:
        self.resolution = check_protocol(self.protocol, self.resolution)

    @property
    def protocol_key(self) -> str:
        return protocol_key(self.protocol, str(self.resolution))
