"""Configs of the user-study commands: collect-votes (build a study from a benchmark's outputs and serve it)
and analyze-votes (scale the votes)."""

from __future__ import annotations

from dataclasses import dataclass
from harness.errors import HarnessError
from harness.options import (RESULTS, RUN, StoreOptions, SuiteOptions, TrackingOptions, non_negative,
                             number_above, option, port, positive, redefault)
from studies import DESIGNS
from studies.collect.app import JOIN_RATE, SLOT_TIMEOUT, public_origin


def public_url(flag: str, value: str) -> str:
    try:
        public_origin(value)
    except ValueError as err:
        raise HarnessError(f"{flag}: {err}") from None
    return value.rstrip("/")


@dataclass(kw_only=True)
class VotesConfig(TrackingOptions):
    """`harness analyze-votes`."""

    csv: str = option(positional=True, metavar="CSV", help="the study's votes (A/B or ranking CSV)")
    kind: str | None = option(None, choices=DESIGNS, help="override the kind detected from the header")
    ties: str = option("split", choices=("split", "drop"), help="A/B ties: half a vote each way, or left out")
    bootstrap: int = option(1000, check=non_negative, metavar="N",
                            help="subject-bootstrap resamples for CIs and tests (0 = none)")
    seed: int = option(0, help="bootstrap seed")
    prior: str = option("none", choices=("none", "gaussian"),
                        help="Thurstone scale: maximum likelihood, or pwcmp's default gaussian distance prior")
    figure: str | None = option(None, metavar="PNG", help="write the figure (scales with CIs, significance)")
    experiment: str | None = option(None, group=RESULTS, help="MLflow experiment",
                                    shown="the benchmark run's, for a collect-votes study made from one; else "
                                          "user-studies")


@dataclass(kw_only=True)
class CollectConfig(StoreOptions, SuiteOptions):
    """`harness collect-votes`: build a user study from a benchmark run or prediction folders, and serve it."""

    out: str = option(group=RESULTS, metavar="STUDY_DIR", help="the study directory (new, or an existing study to "
                                                               "serve again)")
    run: str | None = option(None, group=RUN, metavar="RUN_ID|DIR",
                             help="a run-benchmark run: its MLflow run id (suite, data root and --out folder are "
                                  "read from the run), or its --out folder (then give --suite)")
    pred_dirs: str | None = option(None, group=RUN, metavar="NAME=DIR,...",
                                   help="one folder of predictions <id>.png per method, named as the study will "
                                        "report them")
    suite: str | None = redefault(SuiteOptions, "suite", None,
                                  help="the suite the outputs were made on (composites are taken from it)")
    limit: int | float | None = redefault(SuiteOptions, "limit", None,
                                          help="only the suite's first N samples (or a fraction in (0, 1)), as "
                                               "given to run-benchmark or score; a --run knows its own")
    methods: str | None = option(None, group=RUN, help="only these of the run's methods, in this order",
                                 shown="all")
    design: str = option("ab", group=RUN, choices=DESIGNS,
                         help="ab: two outputs side by side, A / B / no preference; rank: every output, ranked 1–3")
    images: int = option(15, group=RUN, check=positive, help="images in the study, a seeded sample of the suite")
    subjects: int = option(30, group=RUN, check=positive, help="participants planned; the design is balanced "
                                                               "over them")
    trials: int | None = option(None, group=RUN, check=positive,
                                help="trials per participant; fewer than every pair on every image (ab) or every "
                                     "image (rank) gives a balanced incomplete design", shown="complete")
    repeats: int | None = option(None, group=RUN, check=non_negative,
                                 help="trials shown a second time as consistency checks",
                                 shown="3, at most one trial in five")
    seed: int = option(0, group=RUN, help="image sample, design and presentation order")
    host: str = option("127.0.0.1", group=RESULTS, help="bind address; any other address lets other machines in, "
                                                        "with only the URL's token as protection")
    port: int = option(5050, group=RESULTS, check=port, help="port (0 = any free port)")
    public_url: str | None = option(None, group=RESULTS, metavar="URL", check=public_url,
                                    help="the https:// address a reverse proxy on this machine serves the study "
                                         "at, for participants elsewhere: the URL printed, and the Host and "
                                         "Origin accepted (README: 'Participants on other machines')")
    join_rate: int = option(JOIN_RATE, group=RESULTS, check=positive, metavar="N",
                            help="new participants accepted a minute, a quarter of them at once; more are asked to "
                                 "try again a few seconds later")
    slot_timeout: float = option(SLOT_TIMEOUT, group=RESULTS, check=number_above(0), metavar="MINUTES",
                                 help="a participant who joined but answered nothing gives their place back after "
                                      "this many minutes")

    def _check(self) -> None:
        if self.run is not None and self.pred_dirs is not None:
            raise HarnessError("give either --run or --pred-dirs, not both")
        if self.pred_dirs is not None and not self.suite:
            raise HarnessError("--pred-dirs needs --suite: the suite the predictions were made on (for the "
                               "composites)")

    @property
    def builds(self) -> bool:
        """Whether sources were given (else only an existing study can be resumed)."""
        return self.run is not None or self.pred_dirs is not None



