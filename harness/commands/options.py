"""Command-line options shared by several commands: `--protocol` and `--resolution` (score, run-benchmark,
the sweeps), the compute flags of the Ray commands, and KEY=VALUE lists. Defaults and checks live in
harness/config.py (ProtocolOptions) and the commands' config objects."""

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


def add_compute_arguments(group: argparse._ActionsContainer, config_cls: type) -> None:
    """--ray-address, --num-cpus, --seed (bootstrap), --bootstrap, --no-progress, with `config_cls`'s defaults
    (its `seed` and `n_boot` fields)."""
    group.add_argument("--ray-address", help="Ray cluster to use (else $RAY_ADDRESS; else a local Ray)")
    group.add_argument("--num-cpus", type=int, help="local Ray: CPUs to use (default: all available)")
    group.add_argument("--seed", type=int, default=default_of(config_cls, "seed"),
                       help="bootstrap seed (default: %(default)s)")
    group.add_argument("--bootstrap", type=int, default=default_of(config_cls, "n_boot"),
                       help="bootstrap resamples (default: %(default)s)")
    group.add_argument("--no-progress", action="store_true", help="no progress bar")


def compute_values(args: argparse.Namespace) -> dict:
    """The config fields behind `add_compute_arguments`' flags (no progress bar under --json either)."""
    return {"ray_address": args.ray_address, "num_cpus": args.num_cpus, "seed": args.seed, "n_boot": args.bootstrap,
            "progress": not args.no_progress and not args.json}


def key_values(option: str, items: list[str]) -> dict[str, str]:
    """`["a=1", "b=2"]` (a repeatable KEY=VALUE flag) → {"a": "1", "b": "2"}; anything else is a one-line
    error naming `option`."""
    from harness.errors import HarnessError

    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise HarnessError(f"{option} '{item}' is not KEY=VALUE")
        out[key.strip()] = value.strip()
    return out
