"""Model cost: every registered network at its full (published) size, side by side in one run — parameters,
GFLOP of one 256² forward (torch.utils.flop_counter), and the wall time of a training forward + backward at
batch 8, 256² — with each one's ratio to Bargain-Net (R), IPH's closest interactive peer.

Target (the IPH paper calls IPH lighter than the baselines, 27M vs 54–58M parameters): IPH's forward+backward
costs at most 0.6× Bargain-Net (R)'s. The first IPH of this project put a 64-channel stem and residual blocks
at full resolution: 124 GFLOP per forward, ×7.7 the time.

    .venv/bin/python benchmarks/bench_models.py [--batch 8] [--repeat 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time


def measure(name: str, batch: int, repeat: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from harness.methods.registry import create_model

    torch.manual_seed(0)
    model = create_model(name, "full").train()
    x = torch.rand(batch, 3, 256, 256)
    fg = torch.zeros(batch, 1, 256, 256)
    fg[..., 64:192, 64:192] = 1
    ref = torch.zeros_like(fg)
    ref[..., :48, :] = 1
    with FlopCounterMode(display=False) as counter:
        model(x[:1], fg[:1], ref[:1])
    times = []
    for k in range(repeat + 1):  # the first is a warm-up
        model.zero_grad(set_to_none=True)
        t = time.perf_counter()
        model(x, fg, ref).mean().backward()
        if k:
            times.append(time.perf_counter() - t)
    return {"name": name, "params": sum(p.numel() for p in model.parameters()),
            "gflop": counter.get_total_flops() / 1e9, "seconds": statistics.median(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    from harness.methods.registry import list_models

    torch.set_num_threads(args.threads)
    rows = {name: measure(name, args.batch, args.repeat) for name in list_models()}
    base = rows["bargainnet-r"]
    print(f"full size, 256², forward+backward at batch {args.batch}, {args.threads} threads, median of "
          f"{args.repeat} (ratios to bargainnet-r)")
    for r in rows.values():
        print(f"{r['name']:13s} {r['params'] / 1e6:6.2f}M params  {r['gflop']:6.1f} GFLOP/forward "
              f"({r['gflop'] / base['gflop']:.2f}x)  fwd+bwd {r['seconds']:6.2f} s ({r['seconds'] / base['seconds']:.2f}x)")
    ratio = rows["iph"]["seconds"] / base["seconds"]
    print(f"iph / bargainnet-r forward+backward time: {ratio:.2f}x (target <= 0.60x): {'met' if ratio <= 0.6 else 'MISSED'}")


if __name__ == "__main__":
    main()
