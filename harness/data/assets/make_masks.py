"""Provenance of the bundled region masks (run once; the PNGs beside this file are what ships).

The two person masks (astronaut_person.png, grace_hopper_person.png) were made with MediaPipe's selfie
segmentation model and checked by eye (see the project's shared notes). The other regions are polygons and
ellipses drawn by hand on the photos, in pixel coordinates (x, y), rasterised with scikit-image and
checked by eye on overlays. Regions that overlap a foreground are cut by it when a sample is built.

    python harness/data/assets/make_masks.py    # rewrites the polygon/ellipse masks
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from skimage.draw import ellipse, polygon

HERE = Path(__file__).parent

# name: (photo size (H, W), list of shapes); a shape is ("poly", [(x, y), ...]) or ("ellipse", cx, cy, rx, ry)
REGIONS = {
    "astronaut_shuttle": ((512, 512), [("poly", [(396, 0), (430, 0), (441, 45), (452, 190), (472, 272),
                                                  (352, 277), (362, 200), (386, 95)])]),
    "astronaut_flag": ((512, 512), [("poly", [(0, 0), (62, 0), (95, 210), (95, 330), (0, 360)])]),
    "grace_hopper_flag": ((600, 512), [("poly", [(0, 0), (160, 0), (160, 330), (40, 420), (0, 430)])]),
    "grace_hopper_backdrop": ((600, 512), [("poly", [(360, 0), (512, 0), (512, 330), (360, 330)])]),
    "coffee_cup": ((400, 600), [("ellipse", 278, 242, 200, 140), ("ellipse", 291, 112, 120, 92)]),
    "coffee_table": ((400, 600), [("poly", [(498, 0), (600, 0), (600, 400), (498, 400)]),
                                  ("poly", [(0, 110), (72, 110), (72, 400), (0, 400)])]),
    "chelsea_cat": ((300, 451), [("poly", [(0, 300), (0, 30), (55, 0), (375, 0), (398, 60), (380, 150),
                                            (360, 300)])]),
    "chelsea_backdrop": ((300, 451), [("poly", [(405, 0), (451, 0), (451, 300), (392, 300), (405, 150)])]),
    "rocket_rocket": ((427, 640), [("poly", [(322, 126), (332, 138), (336, 180), (337, 402), (305, 402),
                                              (306, 180), (310, 138)])]),
    "rocket_sky": ((427, 640), [("poly", [(212, 10), (292, 10), (292, 300), (212, 300)]),
                                ("poly", [(95, 10), (172, 10), (172, 250), (95, 250)])]),
}


def rasterise(size: tuple[int, int], shapes: list) -> np.ndarray:
    mask = np.zeros(size, dtype=np.uint8)
    for shape in shapes:
        if shape[0] == "poly":
            xy = np.array(shape[1], dtype=float)
            rr, cc = polygon(xy[:, 1], xy[:, 0], shape=size)
        else:
            _, cx, cy, rx, ry = shape
            rr, cc = ellipse(cy, cx, ry, rx, shape=size)
        mask[rr, cc] = 255
    return mask


if __name__ == "__main__":
    for name, (size, shapes) in REGIONS.items():
        Image.fromarray(rasterise(size, shapes)).save(HERE / f"{name}.png", optimize=True)
        print(name)
