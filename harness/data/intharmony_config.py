"""`harness build-intharmony`'s config. It lives in the data layer, beside the builder it configures
(harness/data/intharmony.py), because the `intharmony` suite builds its bundled test split with it; and in a
module of its own, light, because the command line reads it for --help."""

from __future__ import annotations

from dataclasses import dataclass
from harness.errors import HarnessError
from harness.options import DATA, RESULTS, RUN, ComputeOptions, comma_list, fraction, option, positive

SOURCE = "source (default: the bundled COCO-format instances over the bundled photos)"


@dataclass(kw_only=True)
class IntHarmonyConfig(ComputeOptions):
    """A harmonization set from instance annotations (harness/data/intharmony.py)."""

    annotations: str | None = option(None, group=SOURCE, path=True, help="COCO instances JSON (polygons, compressed or "
                                                              "uncompressed RLE)")
    images: str | None = option(None, group=SOURCE, path=True, help="the folder of the images the annotations name")
    mhp: str | None = option(None, group=SOURCE, metavar="ROOT", path=True, help="an MHP (Multi-Human Parsing) root "
                                                                      "instead: one person per parsing mask")
    split: str = option("test", group=SOURCE, choices=("train", "test", "val"), help="bundled file or MHP split")
    out: str = option(group=RESULTS, path=True, help="output folder (created; a finished or interrupted build of "
                                                     "the same settings is completed, never mixed)")
    seed: int = option(0, group=RUN, help="the seed of every random draw")
    per_image: int = option(1, group=RUN, check=positive, help="samples per image (each a new foreground, "
                                                               "reference and augmentation)")
    categories: list[str] | None = option(None, group=RUN, parse=comma_list, help="comma-separated categories to "
                                          "use, e.g. person (portraits)", shown="all")
    min_area: float = option(0.01, group=RUN, check=fraction, help="smallest usable instance, as a fraction of "
                                                                    "the image")
    luts: str | None = option(None, group=DATA, metavar="DIR", path=True, help="folder of .cube 3D LUTs for the LUT "
                                                                    "augmentation", shown="seeded random smooth "
                                                                                          "LUTs")

    def _check(self) -> None:
        if self.mhp and (self.annotations or self.images):
            raise HarnessError("--mhp replaces --annotations/--images: give one source")
        if bool(self.annotations) != bool(self.images):
            raise HarnessError("--annotations and --images go together (leave both out for the bundled file)")
        if self.categories is not None and not self.categories:
            raise HarnessError("--categories: no category given")
