"""What the GPU paths ask Ray for, and which device a method picks — checked without a GPU (the GPU itself is
exercised by benchmarks/gpu_check.py on a machine that has one)."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError


@pytest.mark.parametrize("n_specs, cluster, expected", [
    (26, {"cpus": 2, "gpus": 0}, (2, 0.0)),     # a laptop: one actor per core, no GPU
    (26, {"cpus": 16, "gpus": 1}, (4, 0.25)),   # one GPU: four actors share it
    (26, {"cpus": 16, "gpus": 2}, (8, 0.25)),   # two GPUs: four on each
    (3, {"cpus": 16, "gpus": 2}, (3, 2 / 3)),   # fewer samples than places: all GPUs still shared out
    (26, {"cpus": 2, "gpus": 1}, (2, 0.5)),     # fewer CPUs than places
    (5, {"cpus": 0, "gpus": 0}, (1, 0.0)),      # a head with no CPU still gets one actor asked for
])
def test_the_actor_pool_shares_every_gpu_evenly(n_specs, cluster, expected):
    from harness.engine.dispatch import pool_shape

    n, share = pool_shape(n_specs, cluster)
    assert (n, share) == pytest.approx(expected)
    assert n * share <= cluster["gpus"] + 1e-9  # Ray could place them all


def test_training_workers_ask_one_gpu_each_over_nccl_and_are_refused_what_the_cluster_lacks():
    from harness.config import TrainConfig
    from harness.train.driver import worker_resources

    gpu = TrainConfig(method="iph", workers=4, gpus_per_worker=1.0)
    assert worker_resources(gpu, {"cpus": 16, "gpus": 4}) == ({"CPU": 1.0, "GPU": 1.0}, "nccl")
    assert worker_resources(TrainConfig(method="iph", workers=2), {"cpus": 2, "gpus": 0}) == ({"CPU": 1.0}, "gloo")
    with pytest.raises(HarnessError, match=r"asks 4 GPUs and the Ray cluster has 1"):
        worker_resources(gpu, {"cpus": 16, "gpus": 1})  # Ray Train would wait for them forever
    with pytest.raises(HarnessError, match=r"asks 3 CPUs and the Ray cluster has 2"):
        worker_resources(TrainConfig(method="iph", workers=3), {"cpus": 2, "gpus": 0})


def test_a_learned_method_runs_where_torch_sees_a_gpu_in_full_fp32(monkeypatch):
    import torch

    import harness.methods.learned as learned
    from harness.methods.spec import MethodSpec

    seen = {}

    def fake_build(name, checkpoint, device):
        seen["device"] = device
        raise RuntimeError("stop")  # nothing is built: only the device asked for matters here

    monkeypatch.setattr(learned, "build_from_checkpoint", fake_build)
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    try:
        for available, device in ((False, "cpu"), (True, "cuda")):
            monkeypatch.setattr(torch.cuda, "is_available", lambda a=available: a)
            torch.backends.cudnn.allow_tf32 = True
            with pytest.raises(RuntimeError, match="stop"):
                MethodSpec("dovenet").build()
            assert seen["device"] == device
            # on CUDA, TF32 convolutions are off (they move scores by ~1e-3); on a CPU nothing is touched
            assert torch.backends.cudnn.allow_tf32 is (not available)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
