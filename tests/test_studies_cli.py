"""`harness analyze-votes` end to end: JSON shape, text table, figure, MLflow logging, shipped examples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from harness.cli import main
from studies.simulate import paper_examples, write_csv

ROOT = Path(__file__).resolve().parents[1]
METHOD_KEYS = {"method", "thurstone", "thurstone_ci", "jod", "bt", "bt_ci", "win_rate", "score"}
PAIR_KEYS = {"a", "b", "diff", "p", "p_holm"}


def _json(capsys, argv):
    assert main(argv) == 0
    out, _ = capsys.readouterr()
    assert out.count("\n") == 1 and out.endswith("}\n")  # exactly one JSON object, nothing else
    return json.loads(out)


def test_json_ab_study(capsys):
    res = _json(capsys, ["analyze-votes", str(ROOT / "studies" / "ab.csv"), "--json", "--no-mlflow",
                         "--bootstrap", "100", "--seed", "3"])
    assert res["kind"] == "ab" and res["n_votes"] == 2700
    assert {"kind", "n_votes", "methods", "pairs", "observers", "warnings"} <= set(res)
    assert [m["method"] for m in res["methods"]][0] == "IPH"
    for m in res["methods"]:
        assert METHOD_KEYS <= set(m) and m["score"] is None
        lo, hi = m["thurstone_ci"]
        assert lo <= m["thurstone"] <= hi and np.isclose(m["jod"], 1.482602 * m["thurstone"], rtol=1e-5)
        assert np.allclose(m["jod_ci"], 1.482602 * np.array(m["thurstone_ci"]), rtol=1e-5)  # JOD's CI: same scale
    assert abs(sum(m["thurstone"] for m in res["methods"])) < 1e-5
    assert len(res["pairs"]) == 6 and all(PAIR_KEYS <= set(p) for p in res["pairs"])
    assert all(p["p"] <= p["p_holm"] <= 1 for p in res["pairs"])
    assert len(res["observers"]) == 30
    # count matrices against a direct count of the CSV rows (ties split half each way)
    import csv

    rows = list(csv.DictReader((ROOT / "studies" / "ab.csv").read_text(encoding="utf-8").splitlines()))
    order = res["counts"]["methods"]
    per_image = res["counts"]["per_image"]
    for img in ("img01", "img07"):
        hand = np.zeros((4, 4))
        for r in rows:
            if r["image"] != img:
                continue
            a, b = order.index(r["method_a"]), order.index(r["method_b"])
            if r["winner"] == "tie":
                hand[a, b] += 0.5
                hand[b, a] += 0.5
            else:
                w = order.index(r["winner"])
                hand[w, a + b - w] += 1
        np.testing.assert_array_equal(per_image[img], hand)
    np.testing.assert_allclose(np.sum(list(per_image.values()), axis=0), res["counts"]["wins"])
    assert np.sum(res["counts"]["wins"]) == 2700
    # same seed → same numbers; the bootstrap is reproducible
    again = _json(capsys, ["analyze-votes", str(ROOT / "studies" / "ab.csv"), "--json", "--no-mlflow",
                           "--bootstrap", "100", "--seed", "3"])
    assert again == res


def test_json_rank_study_via_kind_override(tmp_path, capsys):
    res = _json(capsys, ["analyze-votes", str(ROOT / "studies" / "rank.csv"), "--kind", "rank", "--json",
                         "--no-mlflow", "--bootstrap", "50"])
    assert res["kind"] == "rank" and res["n_votes"] == 450
    scores = [m["score"] for m in res["methods"]]
    assert all(s is not None for s in scores) and np.isclose(sum(scores), 6.0)  # 3 + 2 + 1 per ranking


def test_text_table_and_figure(tmp_path, capsys):
    png = tmp_path / "fig.png"
    assert main(["analyze-votes", str(ROOT / "studies" / "ab.csv"), "--bootstrap", "50", "--no-mlflow",
                 "--figure", str(png)]) == 0
    out = capsys.readouterr().out
    assert "Thurstone z [95% CI]" in out and "BT [95% CI]" in out and "IPH" in out and "Warnings:" in out
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] > 400


def test_mlflow_logging(tmp_path, capsys):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    res = _json(capsys, ["analyze-votes", str(ROOT / "studies" / "ab.csv"), "--bootstrap", "20", "--json",
                         "--tracking-uri", uri])
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("user-studies")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["kind"] == "ab" and run.data.params["n_votes"] == "2700"
    assert np.isclose(run.data.metrics["thurstone.IPH"], res["methods"][0]["thurstone"])
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"figure.png", "methods.json", "pairs.json", "analysis.json"} <= names
    assert (tmp_path / "mlflow.db").is_file() and (tmp_path / "mlartifacts").is_dir()


def test_shipped_examples_are_the_seeded_simulation(tmp_path):
    ab, rank = paper_examples()
    write_csv(ab, tmp_path / "ab.csv")
    write_csv(rank, tmp_path / "rank.csv")
    for name in ("ab.csv", "rank.csv"):
        shipped = (ROOT / "studies" / name).read_bytes()
        assert shipped == (tmp_path / name).read_bytes()
        assert shipped.splitlines()[0].endswith(b",simulated")
        assert all(line.endswith(b",1") for line in shipped.splitlines()[1:])
    assert len(ab) == 30 * 15 * 6 and len(rank) == 30 * 15 * 4
