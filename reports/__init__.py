"""The paper's tables and figures, built from MLflow runs (read back with MlflowClient), as one self-contained
HTML page — images as data: URIs, because MLflow shows an HTML artifact in a sandboxed frame that loads nothing
beside it — with each table also as CSV and LaTeX.

    MLflow ─► source.py   which runs (by experiment, run id or the `harness.command` tag) and what they hold
           ─► tables.py   Table 1 (benchmark: methods × suites, best / second best, paired Δ to the best with
                          Holm p), Table 2 (user studies), Table 3 (ablation), robustness, fg-ratio buckets
                          └─ cells.py: every number tied to its MLflow origin; HTML, CSV, LaTeX
                          └─ columns.py: one column per run, labelled apart; which run and why, above the table
           ─► figures.py  responsiveness, fg-ratio buckets, paired-difference heatmap (matplotlib, no pyplot)
           ─► page.py     the page: the qualitative grid (Fig. 4) and the robustness grids (Fig. 5) as images
           ─► build.py    write it (atomically) and log it to a run (`attach_run_report`)

Every number on the page carries where it came from (data-run with data-metric or data-tag, or data-artifact
with data-path), so the browser tests check each one against MLflow itself. Imports: harness.formatting (how
numbers are written), harness.scoring (which way each metric is better), harness.tracking (where a page is
linked) and harness.errors. Nothing below calls into here: the commands build a run's report once its tracker
has finished it (`attach_report`), and `harness report` any selection of runs.
"""

from reports.build import attach_report, attach_run_report, build, write_atomically
from reports.source import collect

__all__ = ["attach_report", "attach_run_report", "build", "collect", "write_atomically"]
