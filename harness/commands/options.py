"""Command-line options shared by the commands that score: `--protocol` and `--resolution` (score,
run-benchmark, and the sweeps to come). Defaults and checks live in harness/config.py (ProtocolOptions)."""

from __future__ import annotations

import argparse

from harness.config import PEER_SIZE, PROTOCOLS, RESOLUTIONS, default_of

PROTOCOL_HELP = (
    "evaluation protocol (default: %(default)s): `harness` = the harness's metrics (fixed PSNR peak 255, binary "
    "mask); `bcmi` = bcmi's iHarmony4 evaluation.py exactly (PIL 8-bit bicubic to 256², mask dithered to 1 bit, "
    "PSNR peak = prediction max − min) — compare with the bcmi leaderboard, Dove-Net, BargainNet; `idih` = "
    "iDIH's evaluate_model.py exactly (OpenCV bilinear to 256², soft-mask weights, PSNR peak = truth max, "
    "+1e-6) — compare with iDIH/iSSAM and papers built on that code. See README, 'Which protocol'")


def add_protocol_arguments(group: argparse._ActionsContainer, config_cls: type) -> None:
    """Add --protocol and --resolution to `group`, with `config_cls`'s defaults."""
    group.add_argument("--protocol", choices=PROTOCOLS, default=default_of(config_cls, "protocol"),
                       help=PROTOCOL_HELP)
    group.add_argument("--resolution", choices=RESOLUTIONS, default=default_of(config_cls, "resolution"),
                       help=f"--protocol harness only: score at the sample's native size (`full`, the default) "
                            f"or with everything resized to {PEER_SIZE}² the harness's way (`{PEER_SIZE}`, float "
                            "bicubic, area-averaged mask — neither published protocol); bcmi and idih always "
                            f"score at {PEER_SIZE}²")
