// Study pages: response time, keyboard shortcuts, one submission per trial, ranking helpers.
// Everything also works without JavaScript (plain forms; the server checks every answer).
(function () {
  "use strict";
  var first = document.querySelector(".focus-first");
  if (first) { first.focus({ preventScroll: true }); }
  var form = document.getElementById("answer");
  if (!form) { return; }
  var status = document.getElementById("status");
  var design = form.getAttribute("data-design");
  var t0 = null;
  // Response time runs from the moment every image has been decoded and shown.
  function startClock() { if (t0 === null) { t0 = performance.now(); } }
  if (document.readyState === "complete") { startClock(); } else { window.addEventListener("load", startClock); }
  var sent = false;

  function say(text) { if (status) { status.textContent = text; } }

  form.addEventListener("submit", function (event) {
    if (sent) { event.preventDefault(); return; }
    if (design === "rank" && !rankComplete()) {
      event.preventDefault();
      say("Please give ranks 1 to " + depth + " before submitting.");
      return;
    }
    sent = true;
    form.elements.rt_ms.value = String(Math.max(0, Math.round(performance.now() - (t0 === null ? 0 : t0))));
    var submitter = event.submitter;
    if (submitter && submitter.name) {  // disabled buttons are not sent: carry the choice in a hidden field
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = submitter.name; hidden.value = submitter.value;
      form.appendChild(hidden);
    }
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    say("Saving…");
  });

  function submitWith(button) {
    if (sent) { return; }
    if (form.requestSubmit) { form.requestSubmit(button || undefined); } else if (button) { button.click(); } else { form.submit(); }
  }

  if (design === "ab") {
    var keys = { a: "a", arrowleft: "a", b: "b", arrowright: "b", t: "tie", arrowdown: "tie" };
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) { return; }
      var choice = keys[event.key.toLowerCase()];
      if (!choice) { return; }
      event.preventDefault();
      submitWith(form.querySelector('button[data-choice="' + choice + '"]'));
    });
    return;
  }

  // ---- ranking ----
  var depth = parseInt(form.getAttribute("data-depth"), 10);
  var order = [];  // letters, best first

  function radios(letter) { return form.querySelectorAll('input[name="rank_' + letter + '"]'); }
  function setRank(letter, rank) {
    radios(letter).forEach(function (r) { r.checked = (r.value === (rank ? String(rank) : "")); });
  }
  function rankOf(letter) {
    var v = ""; radios(letter).forEach(function (r) { if (r.checked) { v = r.value; } }); return v;
  }
  function letters() {
    return Array.prototype.map.call(form.querySelectorAll("fieldset.ranks"), function (f) { return f.getAttribute("data-output"); });
  }
  function sync() {  // order[] from the radios, badges, and a spoken summary
    order = [];
    for (var r = 1; r <= depth; r++) {
      letters().forEach(function (l) { if (rankOf(l) === String(r)) { order.push(l); } });
    }
    form.querySelectorAll("fieldset.ranks").forEach(function (f) {
      var v = rankOf(f.getAttribute("data-output"));
      f.classList.toggle("ranked", v !== "");
      f.querySelector(".badge").textContent = v;
    });
  }
  function rankComplete() { sync(); return order.length === depth; }
  function announce() {
    sync();
    var parts = order.map(function (l, i) { return (i + 1) + ": " + l; });
    say(parts.length ? "Ranking " + parts.join(", ") + (order.length === depth ? ". Press Enter to submit." : "") : "Nothing ranked yet.");
  }
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.name || input.name.indexOf("rank_") !== 0 || input.value === "") { announce(); return; }
    var mine = input.name.slice(5);
    letters().forEach(function (l) { if (l !== mine && rankOf(l) === input.value) { setRank(l, null); } });
    announce();
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) { return; }
    var key = event.key;
    if (key === "Enter") {
      if (event.target && event.target.tagName === "BUTTON") { return; }
      event.preventDefault(); submitWith(form.querySelector("button[data-submit]")); return;
    }
    if (key === "Backspace" || key === "Delete") {
      sync();
      if (order.length) { event.preventDefault(); setRank(order[order.length - 1], null); announce(); }
      return;
    }
    var letter = key.length === 1 ? key.toUpperCase() : "";
    if (letters().indexOf(letter) < 0) { return; }
    event.preventDefault();
    sync();
    if (order.indexOf(letter) >= 0) { return; }
    if (order.length >= depth) { say("All ranks are given: Backspace to undo, Enter to submit."); return; }
    setRank(letter, order.length + 1);
    announce();
  });
  sync();
})();
