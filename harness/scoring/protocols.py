"""The evaluation protocols, named once: the harness's own, and exact reproductions of the two scripts that
published iHarmony4 numbers come from (harness/scoring/score.py does the scoring; README "Which protocol").

    protocol   resolution
    harness    native (the sample's own size, the default) or 256 (everything resized the harness's way)
    bcmi       256 (its script resizes everything to 256²)
    idih       256

`protocol_key` ("harness:native", "harness:256", "bcmi:256", "idih:256") is the one string that names how rows
were scored: in tables, JSON and MLflow, and in every cache key. `ProtocolOptions` is the option group of every
command that scores (score, run-benchmark, run-robustness, the experiments' evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.options import RUN, Options, option

PROTOCOLS = ("harness", "bcmi", "idih")
PEER_SIZE = 256  # the working size of the bcmi and idih protocols (both scripts resize everything to 256²)
NATIVE = "native"  # the sample's own resolution
RESOLUTIONS = (NATIVE, str(PEER_SIZE))

PROTOCOL_HELP = (
    "evaluation protocol: `harness` = the harness's metrics (fixed PSNR peak 255, binary mask); `bcmi` = bcmi's "
    "iHarmony4 evaluation.py exactly (PIL 8-bit bicubic to 256², mask dithered to 1 bit, PSNR peak = prediction "
    "max − min) — compare with the bcmi leaderboard, Dove-Net, BargainNet; `idih` = iDIH's evaluate_model.py "
    "exactly (OpenCV bilinear to 256², soft-mask weights, PSNR peak = truth max, +1e-6) — compare with "
    "iDIH/iSSAM and papers built on that code. See README, 'Which protocol'")


def check_protocol(protocol: Any, resolution: Any) -> str:
    """Check a protocol and resolution together; returns the effective resolution. `resolution` None means the
    protocol's own: native for harness, 256 for bcmi and idih (their scripts fix it: asking them for native
    is an error, not silently ignored)."""
    if protocol not in PROTOCOLS:
        raise HarnessError(f"--protocol must be {' or '.join(PROTOCOLS)}, not '{protocol}'")
    if resolution is None:
        return NATIVE if protocol == "harness" else str(PEER_SIZE)
    resolution = str(resolution)
    if resolution == "full":  # the name before "native": say what it is called now
        raise HarnessError("--resolution full is now called --resolution native (the sample's own size)")
    if resolution not in RESOLUTIONS:
        raise HarnessError(f"--resolution must be {' or '.join(RESOLUTIONS)}, not '{resolution}'")
    if protocol != "harness" and resolution != str(PEER_SIZE):
        raise HarnessError(f"--protocol {protocol} scores at {PEER_SIZE}×{PEER_SIZE}, as its script does; "
                           f"--resolution {resolution} applies to --protocol harness only")
    return resolution


def protocol_key(protocol: str, resolution: str) -> str:
    return f"{protocol}:{resolution}"


@dataclass(kw_only=True)
class ProtocolOptions(Options):
    """`--protocol` and `--resolution`. After checking, `resolution` is concrete ("native" or "256")."""

    protocol: str = option("harness", group=RUN, choices=PROTOCOLS, help=PROTOCOL_HELP)
    resolution: str | None = option(
        None, group=RUN, help=f"--protocol harness: score at the sample's own size (`{NATIVE}`) or with "
        f"everything resized to {PEER_SIZE}² the harness's way (`{PEER_SIZE}`: float bicubic, area-averaged "
        f"mask — neither published protocol). bcmi and idih always score at {PEER_SIZE}², their scripts' way: "
        f"`{PEER_SIZE}` is accepted with them and changes nothing, `{NATIVE}` is refused",
        shown=f"{NATIVE} for harness, {PEER_SIZE} for bcmi and idih")

    def _check(self) -> None:
        self.resolution = check_protocol(self.protocol, self.resolution)

    @property
    def protocol_key(self) -> str:
        return protocol_key(self.protocol, str(self.resolution))
