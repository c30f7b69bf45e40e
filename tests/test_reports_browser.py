"""The report page in a real browser (Debian's chromium, headless, offline): it loads without console errors,
every image loads, and every number shown equals the MLflow value it came from — each number's origin is
read from its data attributes and looked up here with MlflowClient, by code that shares nothing with
reports/. Then the same page inside the MLflow UI (`harness ui`, started and stopped here): the links it
prints open the runs table, and the report renders in the run's artifact view.

Needs `chromium` and `chromium-driver` (apt; `make test` installs them); HARNESS_SKIP_BROWSER_TESTS=1 skips."""

from __future__ import annotations

import io
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student

from tests.browser import chromium
from tests.processes import mlflow_ui

pytestmark = pytest.mark.slow
SHOTS = os.environ.get("HARNESS_REPORT_SCREENSHOTS")  # a folder: keep the screenshots (for a closing note)

NUMS_JS = """
return Array.from(document.querySelectorAll('.num')).map(e => {
  const d = Object.assign({}, e.dataset); d.text = e.textContent; return d; });
"""
# text of every result table's cell with its sourced numbers taken out: what is left must hold no number (the
# list of runs the page was built from holds names, ids and dates, no results)
BARE_CELLS_JS = """
return Array.from(document.querySelectorAll('table:not(.runs) td')).map(td => {
  const c = td.cloneNode(true); c.querySelectorAll('.num').forEach(n => n.remove()); return c.textContent; });
"""
IMAGES_JS = """
return Array.from(document.images).map(i => [i.complete && i.naturalWidth > 0, i.alt]);
"""
# Table 1's geometry: the page's and the table's widths, and each header cell's box and text box against the
# left edge of its first column and the right edge of its last (columns measured on a body row of single cells)
TABLE1_JS = """
const t = document.querySelector('table#table1'), root = document.documentElement;
const body = Array.from(t.tBodies).flatMap(b => Array.from(b.rows))
  .find(r => r.cells.length > 1 && Array.from(r.cells).every(c => c.colSpan === 1));
const cols = Array.from(body.cells).map(c => c.getBoundingClientRect());
const heads = [];
for (const r of t.rows) {
  let col = 0;
  for (const c of r.cells) {
    if (c.tagName === 'TH' && (r.parentElement.tagName === 'THEAD' || c.colSpan > 1)) {
      const box = c.getBoundingClientRect(), range = document.createRange();
      range.selectNodeContents(c);
      const text = range.getBoundingClientRect();
      heads.push({text: c.textContent, left: box.left, right: box.right, textLeft: text.left, textRight: text.right,
                  colLeft: cols[col].left, colRight: cols[col + c.colSpan - 1].right});
    }
    col += c.colSpan;
  }
}
const box = t.getBoundingClientRect(), wrap = t.parentElement;
return {viewport: root.clientWidth, page: root.scrollWidth, right: box.right, width: box.width,
        wrapScroll: wrap.scrollWidth, wrapClient: wrap.clientWidth, columns: cols.length, heads: heads,
        methods: Array.from(t.querySelectorAll('tbody th[scope=row]')).map(e => e.textContent)};
"""


@pytest.fixture(scope="module")
def browser():
    with chromium("1400,1000") as driver:
        yield driver


class Oracle:
    """The value behind a number's data attributes, read from MLflow."""

    def __init__(self, uri: str, tmp: Path) -> None:
        from mlflow.tracking import MlflowClient

        self.c, self.tmp, self.files = MlflowClient(uri), tmp, {}

    def _artifact(self, run: str, path: str):
        if (run, path) not in self.files:
            local = Path(self.c.download_artifacts(run, path, str(self.tmp / run)))
            data = local.read_bytes()
            self.files[run, path] = (json.loads(data) if path.endswith(".json")
                                     else pd.read_csv(io.BytesIO(data)).to_dict(orient="records"))
        return self.files[run, path]

    @staticmethod
    def _walk(obj, path: str):
        for step in path.split("/"):
            if "=" in step:
                want = dict(kv.split("=", 1) for kv in step.split("&"))
                obj = next(e for e in obj if all(str(e[k]) == v for k, v in want.items()))
            elif isinstance(obj, list):
                obj = obj[int(step)]
            else:
                obj = obj[step]
        return obj

    def value(self, d: dict) -> float:
        scale = float(d.get("scale", 1))
        if "runs" in d:
            xs = np.array([self.c.get_run(r).data.metrics[d["metric"]] for r in d["runs"].split()])
            if d["agg"] == "count":
                return float(len(xs))
            lo, hi = student.interval(0.95, len(xs) - 1, loc=xs.mean(), scale=xs.std(ddof=1) / np.sqrt(len(xs)))
            return {"mean": xs.mean(), "t95_lo": lo, "t95_hi": hi}[d["agg"]]
        run = self.c.get_run(d["run"])
        if "metric" in d:
            return scale * run.data.metrics[d["metric"]]
        if "tag" in d:
            return scale * float(run.data.tags[d["tag"]])
        return scale * float(self._walk(self._artifact(d["run"], d["artifact"]), d["path"]))


def _agrees(text: str, value: float) -> bool:
    """The shown text is `value` rounded as shown: to its last decimal, or its mantissa's in 1.2e-05."""
    if text in ("inf", "-inf"):
        return math.isinf(value) and (value > 0) == (text == "inf")
    shown = float(text)
    if "e" in text:
        mant, exp = text.split("e")
        half = 0.5 * 10 ** (int(exp) - len(mant.split(".")[1]) if "." in mant else int(exp))
    else:
        half = 0.5 * 10 ** -(len(text.split(".")[1]) if "." in text else 0)
    return abs(shown - value) <= half * (1 + 1e-9) + 1e-12


def _check_page(driver, oracle: Oracle, expect_images: int) -> int:
    """Every number against MLflow, no bare number in a cell, every image loaded; how many numbers."""
    nums = driver.execute_script(NUMS_JS)
    wrong = [(d, oracle.value(d)) for d in nums if not _agrees(d["text"], oracle.value(d))]
    assert not wrong, wrong[:5]
    bare = [t for t in driver.execute_script(BARE_CELLS_JS) if re.search(r"\d", t)]
    assert not bare, bare[:5]  # a number in a table that does not say where it came from
    images = driver.execute_script(IMAGES_JS)
    assert len(images) >= expect_images and all(ok for ok, _ in images), [alt for ok, alt in images if not ok]
    return len(nums)


def test_report_page_numbers_equal_mlflow_and_images_load(browser, report_store, report_built, tmp_path):
    browser.get_log("browser")  # start from an empty console
    browser.get(Path(report_built["html"]).as_uri())
    assert browser.title == "harness report"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    # 3 samples × (composite, regions, 3 methods, truth) + heatmap + buckets + responsiveness + 1 Fig. 5 grid
    n = _check_page(browser, Oracle(report_store.uri, tmp_path), expect_images=18 + 4)
    assert n > 150
    best = browser.execute_script("return Array.from(document.querySelectorAll('#table1 td.best .main .num:first-child')).map("
                                  "e => getComputedStyle(e).color)")
    assert len(best) >= 4 and set(best) == {"rgb(192, 0, 0)"}  # the paper's red
    heads = browser.execute_script("return Array.from(document.querySelectorAll('table.grid thead th')).map("
                                   "e => e.textContent)")
    assert heads == ["sample", "composite", "regions", "composite", "reinhard", "lum-match", "truth"]
    if SHOTS:
        browser.set_window_size(1400, 4200)
        browser.save_screenshot(str(Path(SHOTS) / "report-page.png"))


def test_table1_fits_a_1400_pixel_window_with_headers_over_their_columns(browser, report_store, report_all):
    """Issue 22.3: Table 1 of `--all` (two runs of one suite, one of them with 8 methods) in a 1400-pixel-wide
    window: no horizontal scroll, neither the page's nor the table's, and every header over its own columns."""
    browser.set_window_size(1400, 1000)
    browser.get(Path(report_all["html"]).as_uri())
    g = browser.execute_script(TABLE1_JS)
    assert g["viewport"] <= 1400 and "lum-match:chroma=0.25" in g["methods"] and len(set(g["methods"])) == 8
    assert g["page"] <= g["viewport"] and g["right"] <= g["viewport"], g  # no page scroll, nothing cut off
    assert g["wrapScroll"] <= g["wrapClient"], g  # no scroll bar on the table itself
    assert len(g["heads"]) >= 5
    for h in g["heads"]:  # each header spans exactly its columns, and its text lies over them
        assert abs(h["left"] - h["colLeft"]) <= 1 and abs(h["right"] - h["colRight"]) <= 1, h
        assert h["colLeft"] - 1 <= h["textLeft"] and h["textRight"] <= h["colRight"] + 1, h
    labels = [h["text"] for h in g["heads"] if "sample" in h["text"]]
    assert len(set(labels)) == 2, labels  # one header per run, told apart
    # nor do the figures (the 8 methods' outputs side by side included)
    wide = browser.execute_script("return Array.from(document.querySelectorAll('figure'))"
                                  ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.outerHTML.slice(0, 80))")
    assert not wide, wide
    if SHOTS:
        browser.execute_script("document.querySelector('section#table1').scrollIntoView()")
        browser.save_screenshot(str(Path(SHOTS) / "report-table1-all.png"))


def _wait(driver, condition, seconds: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.2).until(condition)


def test_mlflow_ui_opens_runs_and_renders_the_report(browser, report_store, report_built, tmp_path):
    from selenium.webdriver.common.by import By

    with mlflow_ui(report_store.uri) as lines:  # every experiment's link line, waited for
        links = [re.search(r"http://127\.0\.0\.1:\d+/\S+", line).group(0) for line in lines if "http://" in line]
        assert links and all(link.endswith("?workflowType=machine_learning") for link in links)
        assert len(links) == 6  # sample, relit-robustness, efficiency, user-studies, sample-ablation, reports
        base = re.match(r"http://127\.0\.0\.1:\d+", links[0]).group(0)
        # every printed link opens a runs table (the model-training view), not the GenAI traces pages
        browser.get(next(link for link in links if "experiments/1/" in link))
        _wait(browser, lambda d: "Run Name" in d.find_element(By.TAG_NAME, "body").text)
        assert re.search(r"#/experiments/1/runs\?", browser.current_url), browser.current_url
        body = browser.find_element(By.TAG_NAME, "body").text
        from mlflow.tracking import MlflowClient

        parent_name = MlflowClient(report_store.uri).get_run(report_store.bench["mlflow_run_id"]).info.run_name
        assert parent_name in body and "matching runs" in body, body  # the parent row (children fold under it)
        # the report run's page in the artifact view: the HTML renders in MLflow's sandboxed frame
        run, exp = report_built["mlflow"]["run_id"], report_built["mlflow"]["url"].split("/experiments/")[1].split("/")[0]
        browser.get(f"{base}/#/experiments/{exp}/runs/{run}/artifacts/report/report.html?workflowType=machine_learning")
        frame = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "iframe"))
        assert frame.get_attribute("sandbox") == "allow-scripts"
        if SHOTS:
            browser.save_screenshot(str(Path(SHOTS) / "mlflow-artifact-view.png"))
        browser.switch_to.frame(frame)
        try:
            _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#table1 td"))
            _check_page(browser, Oracle(report_store.uri, tmp_path), expect_images=18 + 4)
        finally:
            browser.switch_to.default_content()
        # the benchmark run's overview shows what was run
        parent = report_store.bench["mlflow_run_id"]
        browser.get(f"{base}/#/experiments/1/runs/{parent}?workflowType=machine_learning")
        _wait(browser, lambda d: "Benchmark: 3 methods" in d.find_element(By.TAG_NAME, "body").text)
        # … and its summary (issue 22.5: "Metrics (0)" before; 3 methods × 15 metrics × mean, CI low, CI high)
        shown = _wait(browser, lambda d: re.search(r"Metrics \((\d+)\)", d.find_element(By.TAG_NAME, "body").text))
        assert int(shown.group(1)) >= 3 * 4 * 3, shown.group(0)
        if SHOTS:
            browser.save_screenshot(str(Path(SHOTS) / "mlflow-run-overview.png"))
