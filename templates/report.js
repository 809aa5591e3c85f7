"use strict";
// The findings explorer: facets, search, sorting and paging over the data
// block, with the view kept in the URL fragment so it can be shared. Every
// value reaches the page through textContent, never as markup.
(function () {
  var PAGE = 100;
  var SEVERITIES = ["critical", "high", "medium", "low", "info"];
  var FACETS = [
    ["severity", "Severity"], ["status", "Status"], ["service", "Service"], ["rule", "Rule"],
    ["region", "Region"], ["account", "Account"], ["suppressed", "Suppressed"], ["new", "Baseline"]
  ];
  var data, rules, findings, state;

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (attrs) for (var key in attrs) node.setAttribute(key, attrs[key]);
    return node;
  }

  function valueOf(finding, facet) {
    switch (facet) {
      case "severity": return finding.severity;
      case "status": return finding.status;
      case "service": return rules[finding.rule].service;
      case "rule": return rules[finding.rule].id;
      case "region": return finding.region;
      case "account": return finding.account;
      case "suppressed": return finding.suppression ? "yes" : "no";
      case "new": return finding.baseline || "no baseline";
    }
    return "";
  }

  // A fragment someone wrote by hand may be malformed: a part that does
  // not decode is ignored, never the whole view.
  function decode(text) {
    try { return decodeURIComponent(text.replace(/\+/g, " ")); } catch (error) { return null; }
  }

  function readState() {
    var next = { filters: {}, q: "", sort: "severity", page: 1, finding: "" };
    var hash = location.hash.replace(/^#/, "");
    hash.split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at < 0) return;
      var key = decode(part.slice(0, at));
      var raw = part.slice(at + 1);
      if (key === "q") next.q = decode(raw) || "";
      else if (key === "sort") next.sort = decode(raw) || "severity";
      else if (key === "page") next.page = Math.max(1, parseInt(raw, 10) || 1);
      else if (key === "finding") next.finding = decode(raw) || "";
      else if (FACETS.some(function (f) { return f[0] === key; })) {
        // Split before decoding: a value may hold an encoded comma.
        next.filters[key] = raw.split(",").map(decode).filter(function (v) { return v; });
      }
    });
    return next;
  }

  function writeState() {
    var parts = [];
    FACETS.forEach(function (f) {
      var chosen = state.filters[f[0]];
      if (chosen && chosen.length) parts.push(f[0] + "=" + chosen.map(encodeURIComponent).join(","));
    });
    if (state.q) parts.push("q=" + encodeURIComponent(state.q));
    if (state.sort !== "severity") parts.push("sort=" + state.sort);
    if (state.page > 1) parts.push("page=" + state.page);
    if (state.finding) parts.push("finding=" + state.finding);
    // A plain anchor (#compliance) is left alone; a view is replaced.
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash && location.hash !== hash) history.replaceState(null, "", hash);
    else if (!hash && location.hash.indexOf("=") >= 0) history.replaceState(null, "", location.pathname + location.search);
  }

  function matches(finding, except) {
    for (var facet in state.filters) {
      if (facet === except) continue;
      var chosen = state.filters[facet];
      if (chosen.length && chosen.indexOf(valueOf(finding, facet)) < 0) return false;
    }
    if (state.q) {
      var rule = rules[finding.rule];
      var text = [rule.id, rule.title, finding.resource, finding.arn, finding.region, finding.message || ""].join(" ").toLowerCase();
      var words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
      for (var i = 0; i < words.length; i++) if (text.indexOf(words[i]) < 0) return false;
    }
    return true;
  }

  function compare(a, b) {
    var key = state.sort;
    var order = function (f) {
      if (key === "rule") return rules[f.rule].id;
      if (key === "resource") return f.resource;
      if (key === "region") return f.region;
      return "";
    };
    var ka = order(a), kb = order(b);
    if (ka !== kb) return ka < kb ? -1 : 1;
    var sa = SEVERITIES.indexOf(a.severity), sb = SEVERITIES.indexOf(b.severity);
    if (sa !== sb) return sa - sb;
    return a.index - b.index;
  }

  function renderFacets() {
    var box = document.getElementById("facets");
    box.textContent = "";
    FACETS.forEach(function (f) {
      var facet = f[0];
      var counts = {};
      findings.forEach(function (finding) {
        if (matches(finding, facet)) {
          var value = valueOf(finding, facet);
          counts[value] = (counts[value] || 0) + 1;
        }
      });
      var chosen = state.filters[facet] || [];
      chosen.forEach(function (value) { if (!(value in counts)) counts[value] = 0; });
      var values = Object.keys(counts);
      if (facet === "new" && values.length === 1 && values[0] === "no baseline") return;
      values.sort(function (a, b) {
        if (facet === "severity") return SEVERITIES.indexOf(a) - SEVERITIES.indexOf(b);
        return counts[b] - counts[a] || (a < b ? -1 : 1);
      });
      var set = el("fieldset");
      set.appendChild(el("legend", f[1]));
      values.forEach(function (value) {
        var label = el("label", null, { title: value });
        var box = el("input", null, { type: "checkbox", "data-facet": facet, value: value });
        box.checked = chosen.indexOf(value) >= 0;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + value + " (" + counts[value] + ")"));
        set.appendChild(label);
      });
      box.appendChild(set);
    });
  }

  function renderResults() {
    var shown = findings.filter(function (f) { return matches(f); }).sort(compare);
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    if (state.page > pages) state.page = pages;
    var start = (state.page - 1) * PAGE;
    var body = document.querySelector("#results tbody");
    body.textContent = "";
    shown.slice(start, start + PAGE).forEach(function (finding) {
      var rule = rules[finding.rule];
      var row = el("tr", null, { "data-fingerprint": finding.fingerprint, "data-severity": finding.severity, tabindex: "0" });
      if (finding.fingerprint === state.finding) row.setAttribute("aria-selected", "true");
      row.appendChild(el("td")).appendChild(el("span", finding.severity, { "class": "severity " + finding.severity }));
      var status = finding.status + (finding.suppression ? " (suppressed)" : "") + (finding.baseline === "new" ? " (new)" : "");
      row.appendChild(el("td")).appendChild(el("span", status, { "class": "status " + finding.status }));
      row.appendChild(el("td")).appendChild(el("code", rule.id));
      row.appendChild(el("td", finding.resource));
      row.appendChild(el("td", finding.region));
      row.appendChild(el("td", finding.message || rule.title));
      body.appendChild(row);
    });
    document.getElementById("count").textContent = shown.length + " of " + findings.length + " findings (passing checks are counted in the summary)";
    document.getElementById("page").textContent = "page " + state.page + " of " + pages;
    document.getElementById("previous").disabled = state.page <= 1;
    document.getElementById("next").disabled = state.page >= pages;
  }

  function renderDetail() {
    var panel = document.getElementById("detail");
    var finding = null;
    for (var i = 0; i < findings.length; i++) if (findings[i].fingerprint === state.finding) finding = findings[i];
    panel.textContent = "";
    panel.hidden = !finding;
    document.querySelector(".explorer").classList.toggle("with-detail", !!finding);
    if (!finding) return;
    var rule = rules[finding.rule];
    panel.appendChild(el("h3", rule.title));
    var list = el("dl");
    var add = function (term, value, tag) {
      if (value === null || value === undefined || value === "") return;
      list.appendChild(el("dt", term));
      var dd = el("dd");
      dd.appendChild(el(tag || "span", value));
      list.appendChild(dd);
    };
    add("Status", finding.status + " · " + finding.severity);
    add("Message", finding.message);
    add("Rule", rule.id, "code");
    add("Resource", finding.resource);
    add("ARN", finding.arn, "code");
    add("Region", finding.region);
    add("Account", finding.account);
    add("Suppression", finding.suppression);
    add("Baseline", finding.baseline);
    add("Remediation", rule.remediation);
    add("CLI", rule.cli, "pre");
    add("Fingerprint", finding.fingerprint, "code");
    if (rule.references.length) {
      list.appendChild(el("dt", "References"));
      var dd = el("dd");
      rule.references.forEach(function (url) {
        if (/^https:\/\//.test(url)) {
          var link = el("a", url, { href: url, rel: "noopener noreferrer" });
          dd.appendChild(link);
          dd.appendChild(el("br"));
        }
      });
      list.appendChild(dd);
    }
    panel.appendChild(list);
    var close = el("button", "Close", { type: "button" });
    close.addEventListener("click", function () { state.finding = ""; update(); });
    panel.appendChild(close);
  }

  function update() {
    var focused = document.activeElement;
    var refocus = focused && focused.getAttribute("data-facet")
      ? "input[data-facet=\"" + focused.getAttribute("data-facet") + "\"][value=\"" + CSS.escape(focused.value) + "\"]"
      : focused && focused.getAttribute("data-fingerprint")
        ? "tr[data-fingerprint=\"" + CSS.escape(focused.getAttribute("data-fingerprint")) + "\"]"
        : null;
    document.getElementById("search").value = state.q;
    document.getElementById("sort").value = state.sort;
    renderFacets();
    renderResults();
    renderDetail();
    // After the page is clamped to what exists.
    writeState();
    if (refocus) {
      var again = document.querySelector(refocus);
      if (again) again.focus();
    }
  }

  function start(parsed) {
    data = parsed;
    rules = data.rules;
    findings = data.findings;
    findings.forEach(function (f, i) { f.index = i; });
    state = readState();
    document.getElementById("explorer").hidden = false;
    document.getElementById("facets").addEventListener("change", function (event) {
      var box = event.target;
      var facet = box.getAttribute("data-facet");
      var chosen = (state.filters[facet] || []).filter(function (v) { return v !== box.value; });
      if (box.checked) chosen.push(box.value);
      state.filters[facet] = chosen;
      state.page = 1;
      update();
    });
    document.getElementById("search").addEventListener("input", function (event) { state.q = event.target.value; state.page = 1; update(); });
    document.getElementById("sort").addEventListener("change", function (event) { state.sort = event.target.value; update(); });
    document.getElementById("clear").addEventListener("click", function () { state = { filters: {}, q: "", sort: "severity", page: 1, finding: "" }; update(); });
    document.getElementById("previous").addEventListener("click", function () { state.page -= 1; update(); });
    document.getElementById("next").addEventListener("click", function () { state.page += 1; update(); });
    var open = function (event) {
      var row = event.target.closest("tr[data-fingerprint]");
      if (!row || (event.type === "keydown" && event.key !== "Enter")) return;
      state.finding = row.getAttribute("data-fingerprint");
      update();
    };
    document.querySelector("#results tbody").addEventListener("click", open);
    document.querySelector("#results tbody").addEventListener("keydown", open);
    // Plain anchors (#compliance) move the page, not the view.
    window.addEventListener("hashchange", function () {
      if (location.hash.indexOf("=") < 0) return;
      state = readState();
      update();
    });
    update();
    document.body.setAttribute("data-explorer", "ready");
    document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
  }

  function fail(why) {
    var box = document.getElementById("explorer");
    box.textContent = "";
    box.appendChild(el("p", "The findings explorer cannot open in this browser (" + why + "); the JSON report holds every finding.", { "class": "banner warn" }));
    box.hidden = false;
  }

  var block = document.getElementById("data");
  if (block.type === "application/json") {
    start(JSON.parse(block.textContent));
  } else if (typeof DecompressionStream !== "function") {
    fail("it has no DecompressionStream");
  } else {
    var binary = atob(block.textContent.trim());
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    new Response(stream).text().then(function (text) { start(JSON.parse(text)); }).catch(function (error) { fail(String(error)); });
  }
})();
