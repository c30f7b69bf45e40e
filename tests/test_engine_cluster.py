"""The same command on a two-node Ray cluster (both nodes on 127.0.0.1), through --ray-address."""

import json

import pandas as pd
import pytest

from harness.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture()
def two_node_cluster():
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    assert {n.node_ip_address for n in cluster.list_all_nodes()} == {"127.0.0.1"}  # loopback only
    yield cluster
    if ray.is_initialized():
        ray.shutdown()
    cluster.shutdown()


def test_run_benchmark_spreads_over_both_nodes(two_node_cluster, tmp_path, capsys):
    code = main(["run-benchmark", "--suite", "sample", "--limit", "8", "--methods", "reinhard,lum-match",
                 "--ray-address", two_node_cluster.address, "--no-mlflow", "--json", "--bootstrap", "100",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ray"]["nodes"] == 2 and res["ray"]["cpus"] == 2
    assert len(res["per_image"]) == 16
    rows = pd.read_csv(tmp_path / "out" / "per_image.csv")
    assert rows["node"].nunique() == 2, "all work ran on one node"
