"""A scripted participant takes short studies in a real browser (Debian's chromium + chromedriver, driven by
selenium, all offline), by clicking and by keyboard, stops and resumes with the resume code it was shown; the
exported CSV is then analysed.

The participant knows the methods only by what the page shows: each method's outputs are flat colours, read
back from the displayed images through a canvas. It prefers blue > green > yellow > red, so every exported
winner and rank can be predicted without asking the app.

Needs `chromium` and `chromium-driver` (apt; `make test` installs them). Set HARNESS_SKIP_BROWSER_TESTS=1 to
skip on a machine without them.
"""

from __future__ import annotations

import csv
import json

import pytest

from harness.cli import main
from tests.browser import chromium
from tests.collect_helpers import Served, make_study, method_of_colour

PREFERENCE = ("blue", "green", "yellow", "red")  # best first
PIXEL_JS = """
const img = arguments[0];
const c = document.createElement('canvas');
c.width = img.naturalWidth; c.height = img.naturalHeight;
const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
return Array.from(ctx.getImageData(c.width >> 1, c.height >> 1, 1, 1).data);
"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        driver.set_page_load_timeout(30)
        yield driver


def _by(css):
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, css


def _shown(driver, letter):
    """The method whose output is shown as `letter`, read from the pixels on screen."""
    from selenium.webdriver.support.ui import WebDriverWait

    img = driver.find_element(*_by(f'figure.candidate[data-output="{letter}"] img'))
    WebDriverWait(driver, 10, poll_frequency=0.02).until(lambda d: d.execute_script("return arguments[0].complete && "
                                                               "arguments[0].naturalWidth > 0", img))
    return method_of_colour(driver.execute_script(PIXEL_JS, img))


def _after(driver, action):
    """Do `action` and wait for the next page to replace this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_):
        # selenium's staleness_of expects StaleElementReferenceException; while the next page replaces this one,
        # chromium may instead answer "Node with given id does not belong to the document" (a plain
        # WebDriverException) — the old page is gone either way
        try:
            old.is_enabled()
            return False
        except WebDriverException:
            return True

    old = driver.find_element(*_by("h1"))
    action()
    WebDriverWait(driver, 10, poll_frequency=0.02).until(gone)
    WebDriverWait(driver, 10, poll_frequency=0.02).until(lambda d: d.find_elements(*_by("h1")))


def _keys(driver, keys):
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(keys).perform()


def _start(driver, url, subject_id="", resume_code=""):
    """A fresh browser session on the welcome page: start (with an id, or none), or continue with a code."""
    driver.delete_all_cookies()
    driver.get(url)
    assert driver.switch_to.active_element.tag_name == "h1"  # focus starts on the heading
    if resume_code:
        driver.find_element(*_by("#resume_code")).send_keys(resume_code)
        _after(driver, lambda: driver.find_element(*_by('[data-action="resume"]')).click())
        return
    if subject_id:
        driver.find_element(*_by("#subject_id")).send_keys(subject_id)
    _after(driver, lambda: driver.find_element(*_by('[data-action="start"]')).click())


def _csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_ab_study_by_click_and_key_with_a_break(browser, tmp_path, capsys):
    from selenium.webdriver.common.keys import Keys

    study = make_study(tmp_path / "ab", methods=("red", "green", "blue"), n_images=2, subjects=2, repeats=1)
    srv = Served(study)
    try:
        d = browser
        _start(d, srv.url, "Ana")
        assert "Your participant id is Ana" in d.find_element(*_by("h1")).text
        _after(d, lambda: d.find_element(*_by('[data-action="begin"]')).click())
        answered, sides = 0, set()
        while not d.find_elements(*_by("[data-done]")):
            assert f"Trial {answered + 1} of 7" in d.find_element(*_by("label[for=progress]")).text
            left, right = _shown(d, "a"), _shown(d, "b")
            sides.add(left)
            pick = "a" if PREFERENCE.index(left) < PREFERENCE.index(right) else "b"
            if answered % 2 == 0:
                _after(d, lambda: d.find_element(*_by(f'button[data-choice="{pick}"]')).click())
            else:  # the announced shortcuts: A / B, or the arrow keys
                key = {"a": ["a", Keys.ARROW_LEFT], "b": ["b", Keys.ARROW_RIGHT]}[pick][answered % 4 == 1]
                _after(d, lambda: _keys(d, key))
            answered += 1
            if answered == 3:  # a break: the pause page shows the resume code; a new browser session uses it
                _after(d, lambda: d.find_element(*_by("a.pause")).click())
                assert "3 of 7" in d.find_element(*_by("main")).text
                code = d.find_element(*_by("[data-resume-code]")).text
                _start(d, srv.url, "Ana")  # the id alone is refused: it is taken
                assert "already taken" in d.find_element(*_by("[data-error]")).text
                _start(d, srv.url, resume_code=code)
                assert "Welcome back, Ana" in d.find_element(*_by("h1")).text
                _after(d, lambda: d.find_element(*_by('[data-action="begin"]')).click())
        assert answered == 7 and len(sides) == 3  # every method was shown on the left at least once
        assert "All 7 answers" in d.find_element(*_by("main")).text
    finally:
        srv.stop()
    votes = _csv(study / "votes.csv")
    assert len(votes) == 6 and {v["subject"] for v in votes} == {"Ana"}
    for v in votes:
        assert v["winner"] == min(v["method_a"], v["method_b"], key=PREFERENCE.index)
    trials = _csv(study / "trials.csv")
    assert all(int(t["rt_client_ms"]) >= 0 and int(t["rt_server_ms"]) >= 0 for t in trials)
    assert _csv(study / "consistency.csv") == [{"subject": "Ana", "repeats": "1", "consistent": "1",
                                               "rate": "1.000"}]
    assert main(["analyze-votes", str(study / "votes.csv"), "--json", "--no-mlflow", "--bootstrap", "0"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [m["method"] for m in res["methods"]] == ["blue", "green", "red"]
    assert [m["win_rate"] for m in res["methods"]] == [1.0, 0.5, 0.0]  # 4/4, 2/4, 0/4 by hand


def test_ranking_study_by_click_and_keys(browser, tmp_path, capsys):
    from selenium.webdriver.common.keys import Keys

    study = make_study(tmp_path / "rank", design="rank", methods=("red", "green", "blue", "yellow"),
                       n_images=2, subjects=1, repeats=0)
    srv = Served(study)
    try:
        d = browser
        _start(d, srv.url)  # no id typed: one is given
        assert "Your participant id is s01" in d.find_element(*_by("h1")).text
        _after(d, lambda: d.find_element(*_by('[data-action="begin"]')).click())
        for n in range(2):
            shown = {letter: _shown(d, letter) for letter in "abcd"}
            best_first = sorted(shown, key=lambda letter: PREFERENCE.index(shown[letter]))
            if n == 0:  # click the radios, the third place first, then submit with the button
                for rank, letter in ((3, best_first[2]), (1, best_first[0]), (2, best_first[1])):
                    d.find_element(*_by(f'input[data-output="{letter}"][data-rank="{rank}"]')).click()
                assert "Ranking 1: " + best_first[0].upper() in d.find_element(*_by("#status")).text
                _after(d, lambda: d.find_element(*_by("button[data-submit]")).click())
            else:  # letters best to worst, a mistake undone with Backspace, Enter
                _keys(d, best_first[0] + best_first[3] + Keys.BACKSPACE + best_first[1] + best_first[2])
                _after(d, lambda: _keys(d, Keys.ENTER))
        assert d.find_elements(*_by("[data-done]"))
    finally:
        srv.stop()
    ranks = {(r["image"], r["method"]): r["rank"] for r in _csv(study / "votes.csv")}
    assert ranks == {(i, m): r for i in ("img0", "img1") for m, r in zip(PREFERENCE, ("1", "2", "3", ""))}
    assert main(["analyze-votes", str(study / "votes.csv"), "--json", "--no-mlflow", "--bootstrap", "0"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert {m["method"]: m["score"] for m in res["methods"]} == {"blue": 3, "green": 2, "yellow": 1, "red": 0}
