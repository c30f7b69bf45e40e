"""Reports built from a real store (tests/reports_helpers.py: run-benchmark, run-robustness, analyze-votes of the
bundled studies, a hand-logged run-ablation). The oracles are independent of reports/: Table 1 against the
per-image rows each method's run logged (means, paired differences, scipy's Wilcoxon and Holm by hand), Table 2
against the study CSVs (Thurstone scale values by scipy's optimiser on win counts taken from the CSVs with pandas,
3/2/1 scores by hand; the bootstrap CIs as analysis.json logged them), Table 3 against the numbers logged here and
scipy's t interval."""

from __future__ import annotations

import html
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.stats import norm
from scipy.stats import t as student
from scipy.stats import wilcoxon

from harness.cli import main
from tests.processes import ROOT, cli
from tests.reports_helpers import ABLATION

pytestmark = pytest.mark.slow
HIGHER = {"psnr": True, "ssim": True, "de2000": False, "fmse": False}  # by hand, not the harness's table


def _client(store):
    from mlflow.tracking import MlflowClient

    return MlflowClient(store.uri)


def _artifact(c, run_id: str, path: str, tmp: Path) -> bytes:
    return Path(c.download_artifacts(run_id, path, str(tmp))).read_bytes()


def _holm(p: list[float]) -> list[float]:
    order = np.argsort(p)
    out, running = np.empty(len(p)), 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - k) * p[i]))
        out[i] = running
    return list(out)


def _ab_wins(votes: pd.DataFrame) -> pd.DataFrame:
    """Win counts (row beat column) of an A/B CSV; a tie is half a win each way (analyze-votes' default)."""
    tie = votes["winner"] == "tie"
    loser = np.where(votes["winner"] == votes["method_a"], votes["method_b"], votes["method_a"])
    won = pd.DataFrame({"w": votes["winner"][~tie], "l": loser[~tie], "n": 1.0})
    half = pd.DataFrame({"w": votes["method_a"][tie], "l": votes["method_b"][tie], "n": 0.5})
    both = pd.concat([won, half, half.rename(columns={"w": "l", "l": "w"})])
    return both.pivot_table(index="w", columns="l", values="n", aggfunc="sum", fill_value=0.0)


def _rank_wins(votes: pd.DataFrame) -> pd.DataFrame:
    """Win counts implied by a ranking CSV: in each subject's ranking of an image a ranked method beats every
    lower-ranked and every unranked one; two unranked methods are not compared."""
    r = votes.assign(rank=votes["rank"].fillna(np.inf))
    pairs = r.merge(r, on=["subject", "image"], suffixes=("_w", "_l"))
    pairs = pairs[pairs["rank_w"] < pairs["rank_l"]]
    return pd.crosstab(pairs["method_w"], pairs["method_l"]).astype(float)


def _thurstone(wins: pd.DataFrame) -> dict[str, float]:
    """Thurstone Case V by maximum likelihood, P(a beats b) = Φ(z_a − z_b), with scipy's generic BFGS on the
    log-likelihood (the first value held at 0), then centred to mean 0 as the scale is reported."""
    names = sorted(set(wins.index) | set(wins.columns))
    C = wins.reindex(index=names, columns=names, fill_value=0.0).to_numpy()

    def nll(free):
        z = np.r_[0.0, free]
        return -np.sum(C * norm.logcdf(z[:, None] - z[None, :]))

    z = np.r_[0.0, minimize(nll, np.zeros(len(names) - 1), method="BFGS", options={"gtol": 1e-10}).x]
    return dict(zip(names, z - z.mean()))


def _bench_parent(store) -> str:
    return store.bench["mlflow_run_id"]


def test_benchmark_runs_carry_descriptions_tiles_and_their_report(report_store, tmp_path):
    c = _client(report_store)
    parent = c.get_run(_bench_parent(report_store))
    assert "Benchmark: 3 methods" in parent.data.tags["mlflow.note.content"]
    children = c.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(r.info.run_name for r in children) == ["composite", "lum-match", "reinhard"]  # named by method
    assert all(r.data.tags["mlflow.note.content"].startswith(r.info.run_name) for r in children)
    index = json.loads(_artifact(c, parent.info.run_id, "samples/index.json", tmp_path))
    assert len(index) == 3
    files = {f.path for f in c.list_artifacts(parent.info.run_id, f"samples/{index[0]['stem']}")}
    assert {f"samples/{index[0]['stem']}/{k}.png" for k in ("composite", "regions", "truth")} <= files
    for r in children:
        assert {f"samples/{e['stem']}.png" for e in index} <= {f.path for f in c.list_artifacts(r.info.run_id,
                                                                                                   "samples")}
    # the run logged its own report, and the command's output points at it
    assert "report/report.html" in {f.path for f in c.list_artifacts(parent.info.run_id, "report")}
    page = Path(report_store.bench["report"])
    assert page.is_file() and page.read_bytes() == _artifact(c, parent.info.run_id, "report/report.html", tmp_path)
    assert report_store.bench["mlflow_url"].endswith(f"/runs/{parent.info.run_id}?workflowType=machine_learning")
    sweep = c.get_run(report_store.sweep["mlflow_run_id"])
    assert "report/report.html" in {f.path for f in c.list_artifacts(sweep.info.run_id, "report")}
    assert Path(report_store.sweep["report"]).is_file()


def test_the_closing_lines_point_at_the_run_and_end_on_the_report():
    from types import SimpleNamespace

    from harness.engine.results import closing_lines

    lines = closing_lines(SimpleNamespace(mlflow_run_id="abc", mlflow_url="http://127.0.0.1:5000/#/x?workflowType="
                                          "machine_learning", report="/tmp/r/report.html"))
    assert lines[-1] == "report: /tmp/r/report.html" and "abc: http://127.0.0.1:5000/#/x" in lines[-2]
    assert "harness ui" in lines[-2]  # a local store's link needs the UI started


def test_table1_against_the_per_image_rows(report_store, report_built, tmp_path):
    c = _client(report_store)
    t1 = pd.read_csv(Path(report_built["dir"]) / "table1.csv")
    parent = _bench_parent(report_store)
    exp = c.get_run(parent).info.experiment_id
    per_image = {r.info.run_name: pd.read_csv(io.BytesIO(_artifact(c, r.info.run_id, "per_image.csv", tmp_path / r.info.run_id)))
                 for r in c.search_runs([exp], f"tags.mlflow.parentRunId = '{parent}'")}
    methods = list(per_image)
    assert set(t1["metric"]) == set(HIGHER) and set(t1["method"]) == set(methods)
    for metric, higher in HIGHER.items():
        rows = t1[t1["metric"] == metric].set_index("method")
        means = {m: per_image[m][metric].mean() for m in methods}
        for m in methods:
            assert rows.loc[m, "mean"] == pytest.approx(means[m], rel=1e-9)
        ranked = sorted(methods, key=means.get, reverse=higher)
        assert rows.loc[ranked[0], "mark"] == "best" and rows.loc[ranked[1], "mark"] == "second"
        assert pd.isna(rows.loc[ranked[2], "mark"])  # neither best nor second: empty
        # paired differences to the best, with the Wilcoxon p Holm-corrected over all 3 pairs of the metric
        wide = pd.DataFrame({m: per_image[m].set_index("id")[metric] for m in methods})
        pairs = [(a, b) for i, a in enumerate(methods) for b in methods[i + 1:]]
        raw = [wilcoxon(wide[a] - wide[b]).pvalue for a, b in pairs]
        holm = dict(zip(pairs, _holm(raw)))
        best = ranked[0]
        for m in ranked[1:]:
            d = wide[m] - wide[best]
            assert rows.loc[m, "diff_vs_best"] == pytest.approx(d.mean(), rel=1e-9)
            assert rows.loc[m, "diff_ci_lo"] <= d.mean() <= rows.loc[m, "diff_ci_hi"]
            assert rows.loc[m, "p_holm_vs_best"] == pytest.approx(holm.get((m, best), holm.get((best, m))), rel=1e-9)
    tex = (Path(report_built["dir"]) / "table1.tex").read_text()
    assert r"\begin{tabular}" in tex and tex.count(r"\textcolor{red}") >= len(HIGHER)


def test_table2_against_the_studies(report_store, report_built, tmp_path):
    c = _client(report_store)
    t2 = pd.read_csv(Path(report_built["dir"]) / "table2.csv")
    wins = {"ab": _ab_wins(pd.read_csv(ROOT / "studies" / "ab.csv")),
            "rank": _rank_wins(pd.read_csv(ROOT / "studies" / "rank.csv"))}
    for kind, run in (("ab", report_store.ab_run), ("rank", report_store.rank_run)):
        logged = json.loads(_artifact(c, run, "analysis.json", tmp_path / kind))
        ci = {m["method"]: tuple(m["thurstone_ci"]) for m in logged["methods"]}
        rows = t2[t2["run_id"] == run]
        scale = _thurstone(wins[kind])
        assert set(rows["method"]) == set(scale) == {"IPH", "Bargain-Net (R)", "Rain-Net", "Dove-Net"}
        for method, value in scale.items():
            z = rows[(rows["method"] == method) & (rows["field"] == "thurstone")].iloc[0]
            jod = rows[(rows["method"] == method) & (rows["field"] == "jod")].iloc[0]
            assert z["value"] == pytest.approx(value, abs=1e-5)  # analysis.json keeps 6 significant digits
            # the subject-bootstrap CI has no second source: the one the analysis logged, around the estimate
            assert (z["ci_lo"], z["ci_hi"]) == ci[method] and z["ci_lo"] < value < z["ci_hi"]
            assert jod["value"] == pytest.approx(1.4826 * value, rel=1e-4)  # 1 JOD = 75% preference
            assert jod["ci_lo"] == pytest.approx(1.4826 * z["ci_lo"], rel=1e-4)
    # 3/2/1 scores straight from the ranking CSV: mean points per ranking
    votes = pd.read_csv(ROOT / "studies" / "rank.csv")
    points = (4 - votes["rank"]).where(votes["rank"].between(1, 3), 0).fillna(0)
    n_rankings = votes.groupby(["subject", "image"]).ngroups
    expected = points.groupby(votes["method"]).sum() / n_rankings
    scores = t2[(t2["run_id"] == report_store.rank_run) & (t2["field"] == "score")].set_index("method")["value"]
    for method, v in expected.items():
        assert scores[method] == pytest.approx(v, abs=1e-5)


def test_table3_from_the_ablation_as_logged(report_built):
    t3 = pd.read_csv(Path(report_built["dir"]) / "table3.csv")
    for variant, seeds in ABLATION.items():
        for metric in HIGHER:
            row = t3[(t3["variant"] == variant) & (t3["metric"] == metric)].iloc[0]
            xs = np.array([s[metric] for s in seeds.values()])
            assert row["mean"] == pytest.approx(xs.mean(), rel=1e-9) and row["n_seeds"] == len(xs)
            if len(xs) > 1:
                lo, hi = student.interval(0.95, len(xs) - 1, loc=xs.mean(), scale=xs.std(ddof=1) / np.sqrt(len(xs)))
                assert (row["ci_lo"], row["ci_hi"]) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))
    one = t3[(t3["variant"] == "no triplets") & (t3["metric"] == "psnr")].iloc[0]
    assert (one["ci_lo"], one["ci_hi"]) == (30.1, 31.4)  # its own run's CI
    tex = (Path(report_built["dir"]) / "table3.tex").read_text()
    assert r"\textcolor{red}{31.27}" in tex and r"\textcolor{blue}{30.80}" in tex  # best full, second no triplets


def test_report_logs_to_a_run_of_its_own_and_lists_its_sources(report_store, report_built):
    c = _client(report_store)
    sections = report_built["sections"]
    assert set(sections) >= {"table1", "qualitative", "paired", "buckets", "table2", "table3", "robustness", "grid",
                             "efficiency"}
    assert all(v for k, v in sections.items() if k != "grid")
    assert sections["grid"] is False  # no sweep in this store: left out with its one-line note
    assert "no sweep run among the sources" in Path(report_built["html"]).read_text()
    run = c.get_run(report_built["mlflow"]["run_id"])
    assert c.get_experiment(run.info.experiment_id).name == "reports" and run.info.status == "FINISHED"
    assert set(run.data.tags["harness.report_sources"].split(",")) == set(report_built["runs"])
    assert {f.path for f in c.list_artifacts(run.info.run_id, "report")} >= {
        "report/report.html", "report/table1.csv", "report/table1.tex", "report/table2.csv", "report/table3.csv"}
    assert report_built["mlflow"]["url"].endswith("/artifacts/report/report.html?workflowType=machine_learning")
    assert Path(report_built["mlflow"]["file"]).read_bytes() == Path(report_built["html"]).read_bytes()
    assert len(report_built["runs"]) == 6


def test_sections_without_runs_say_so_in_one_line(report_store, tmp_path):
    info = json.loads(cli("report", "--tracking-uri", report_store.uri, "--run", report_store.ablation_run,
                          "--out", str(tmp_path / "r"), "--no-mlflow", "--json"))
    assert info["sections"]["table3"] and not info["sections"]["table1"] and not info["sections"]["table2"]
    page = Path(info["html"]).read_text()
    assert 'id="table1-missing"' in page and "no run-benchmark run among the sources" in page
    assert 'id="table1"' not in page and "<table id=\"table3\"" in page
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["report.html", "table3.csv", "table3.tex"]


def test_a_child_run_stands_for_its_parent_and_rebuilds_its_report(report_store, tmp_path, capsys):
    c = _client(report_store)
    parent = _bench_parent(report_store)
    child = c.search_runs([c.get_run(parent).info.experiment_id], f"tags.mlflow.parentRunId = '{parent}'")[0]
    assert main(["report", "--tracking-uri", report_store.uri, "--run", child.info.run_id, "--out",
                 str(tmp_path / "r")]) == 0
    out, err = capsys.readouterr()
    assert f"its parent {parent} is used" in err
    assert out.splitlines()[-1] == f"report: {tmp_path / 'r' / 'report.html'}"
    assert f"MLflow run {parent}:" in out  # logged back into the run it was built from


@pytest.mark.parametrize("argv, message", [
    (["--experiment", "sampel"], "--experiment sampel: no such experiment. Did you mean: sample"),
    (["--run", "0123456789abcdef0123456789abcdef"], "--run 0123456789abcdef0123456789abcdef: no such MLflow run"),
    (["--experiment", "sample", "--run", "x"], "give --experiment or --run, not both"),
    (["--all", "--run", "x"], "give --all or --run, not both"),
])
def test_bad_input_is_one_line_and_exit_2(report_store, tmp_path, capsys, argv, message):
    assert main(["report", "--tracking-uri", report_store.uri, "--out", str(tmp_path / "r"), *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_no_store_and_a_foreign_out_folder_are_refused(report_store, tmp_path, capsys):
    assert main(["report", "--tracking-uri", f"sqlite:///{tmp_path}/none.db"]) == 2
    assert "no MLflow store at" in capsys.readouterr().err and not (tmp_path / "none.db").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["report", "--tracking-uri", report_store.uri, "--out", str(mine), "--no-mlflow"]) == 2
    assert "is not a report folder" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and not list(tmp_path.glob(".mine.*"))


def _mlflow_key(label: str) -> str:
    """A method's name in a parent's metric keys, by the rule the issue states (not the harness's function):
    every character outside [A-Za-z0-9_.] becomes "_"."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", label)


def _equal(logged: float, printed) -> bool:
    expected = float(printed)  # JSON writes an infinite PSNR as the string "inf"
    if math.isinf(expected):
        return logged >= 1e308  # MLflow's store keeps ±inf as the largest float
    return logged == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("which", ["small", "bench"])
def test_benchmark_parent_holds_the_summary_the_command_printed(report_store, which):
    """Issue 22.5: the parent run the printed link opens shows every method's means and CIs (Metrics (0) before)."""
    printed = getattr(report_store, which)
    logged = _client(report_store).get_run(printed["mlflow_run_id"]).data.metrics
    expected = {}
    for method, summary in printed["methods"].items():
        for metric, mean in summary["mean"].items():
            key = f"{metric}/{_mlflow_key(method)}"
            lo, hi = summary["ci95"][metric]
            expected.update({key: mean, f"{key}_ci95_lo": lo, f"{key}_ci95_hi": hi})
    assert len(printed["methods"]) == (8 if which == "small" else 3)
    missing = sorted(set(expected) - set(logged))
    assert not missing, missing[:5]
    wrong = {k: (logged[k], v) for k, v in expected.items() if not _equal(logged[k], v)}
    assert not wrong, list(wrong.items())[:5]


def test_robustness_parent_holds_the_summary_the_command_printed(report_store):
    printed = report_store.sweep
    logged = _client(report_store).get_run(printed["mlflow_run_id"]).data.metrics
    expected = {}
    for method, m in printed["methods"].items():
        for measure in ("responsiveness", "reference_accuracy"):
            if m[measure] is None:  # a method that ignores the reference has no reference accuracy
                continue
            key = f"{measure}/{_mlflow_key(method)}"
            lo, hi = m[f"{measure}_ci95"]
            expected.update({key: m[measure], f"{key}_ci95_lo": lo, f"{key}_ci95_hi": hi})
    assert {k.split("/")[0] for k in expected} == {"responsiveness", "reference_accuracy"}
    assert {k: v for k, v in logged.items() if k in expected} == pytest.approx(expected, rel=1e-9)


def test_table1_does_not_need_the_parent_metrics(report_store):
    """Runs made before the parents carried the summary read the same: Table 1 comes from the method runs."""
    import reports
    from reports import tables
    from reports.source import Reader

    c = _client(report_store)
    src = reports.collect(c, report_store.uri, run_ids=[_bench_parent(report_store)]).sources[0]
    assert any("/" in k for k in src.metrics)  # this run's parent has them …
    reader = Reader(c)
    try:
        now = tables.table1([src], reader).records
        src.metrics = {}  # … an older run's does not
        assert tables.table1([src], reader).records == now
    finally:
        reader.close()


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _above_table1(page: str) -> str:
    """The text of Table 1's section before the table itself."""
    section = page[page.index('<section id="table1">'):]
    return _text(section[:section.index("<table id=\"table1\"")])


def test_the_page_says_above_table1_which_run_each_column_is_and_why(report_store, report_built):
    """Issue 22.3: the older 2-image run is left out of Table 1 — and the page says so above it, with why."""
    small, bench = report_store.small["mlflow_run_id"], report_store.bench["mlflow_run_id"]
    assert small not in report_built["runs"] and bench in report_built["runs"]
    assert report_built["rule"] == "latest" and report_built["left_out"] == {bench: [small]}  # --json says it too
    above = _above_table1(Path(report_built["html"]).read_text())
    assert "latest finished run-benchmark run" in above and "--all" in above and "--run" in above, above
    assert bench in above and small in above, above  # the column's run, and the one left out
    left_out = above[above.index(small) - 200:above.index(small) + 200]
    assert "left out" in left_out and "2 images" in left_out, left_out


def test_all_gives_every_finished_run_a_column_of_its_own(report_store, report_all):
    small, bench = report_store.small["mlflow_run_id"], report_store.bench["mlflow_run_id"]
    expected = {small, bench, report_store.sweep["mlflow_run_id"], report_store.ab_run, report_store.rank_run,
                report_store.ablation_run, report_store.efficiency["mlflow_run_id"]}
    assert set(report_all["runs"]) == expected and report_all["rule"] == "all" and not report_all["left_out"]
    t1 = pd.read_csv(Path(report_all["dir"]) / "table1.csv")
    assert set(t1["run_id"]) == {small, bench}
    labels = t1.groupby("run_id")["column"].unique()
    assert all(len(v) == 1 for v in labels) and labels[small][0] != labels[bench][0]  # told apart …
    assert all("sample" in v[0] for v in labels)  # … and both say their suite
    assert len(set(t1[t1["run_id"] == small]["method"])) == 8
    page = Path(report_all["html"]).read_text()
    above = _above_table1(page)
    assert "--all" in above and small in above and bench in above and "left out" not in above, above
    for label in (labels[small][0], labels[bench][0]):
        assert label in above and html.escape(label) in page  # each column label is explained above the table
    # one fg-ratio table per run, not one overwriting the other
    assert len([f for f in report_all["files"] if f.startswith("fg_buckets") and f.endswith(".csv")]) == 2


def test_run_and_experiment_select_explicitly(report_store, tmp_path):
    small = report_store.small["mlflow_run_id"]
    info = json.loads(cli("report", "--tracking-uri", report_store.uri, "--run", small, "--out",
                          str(tmp_path / "one"), "--no-mlflow", "--json"))
    assert info["runs"] == [small]
    above = _above_table1(Path(info["html"]).read_text())
    assert "named with --run" in above and small in above, above
    info = json.loads(cli("report", "--tracking-uri", report_store.uri, "--experiment", "sample", "--all", "--out",
                          str(tmp_path / "exp"), "--no-mlflow", "--json"))
    assert set(info["runs"]) == {small, report_store.bench["mlflow_run_id"]}
    assert "in experiment sample" in _above_table1(Path(info["html"]).read_text())


def test_ui_links_open_the_runs_view():
    from harness.tracking.links import ui_link

    assert ui_link("sqlite:////x/mlflow.db", "3") == "http://127.0.0.1:5000/#/experiments/3/runs?workflowType=" \
                                                    "machine_learning"
    assert ui_link("http://mlflow:8080/", "3", "r1", "report/report.html") == \
        "http://mlflow:8080/#/experiments/3/runs/r1/artifacts/report/report.html?workflowType=machine_learning"


def test_the_cost_block_and_the_efficiency_table_are_the_runs_own_numbers(report_store, report_built):
    """Table 1's cost block holds each method's cost as its benchmark printed it; the efficiency table
    run-efficiency's (both against the commands' --json, not against the report's own files)."""
    out = Path(report_built["dir"])
    cost = pd.read_csv(out / "table1_cost.csv")
    for label, m in report_store.bench["methods"].items():
        row = cost[(cost["run_id"] == report_store.bench["mlflow_run_id"]) & (cost["method"] == label)].iloc[0]
        assert row["latency_ms_median"] == pytest.approx(m["efficiency"]["latency_ms_median"])
        assert row["params"] == m["efficiency"]["params"] and row["upsample"] == m["upsample"]
    eff = pd.read_csv(out / "efficiency.csv")
    for label, m in report_store.efficiency["methods"].items():
        for size, cell in m["sizes"].items():
            row = eff[(eff["method"] == label) & (eff["size"] == int(size))].iloc[0]
            assert row["latency_ms_median"] == pytest.approx(cell["latency_ms_median"])
    html = (out / "report.html").read_text()
    assert "quality against latency" in html.lower() and "Pareto front" in html
