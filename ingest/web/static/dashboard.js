/* Dashboard: every chart is drawn from a JSON endpoint (/api/aggregates/...) with IngestCharts. */
(function () {
  "use strict";
  var C = window.IngestCharts;
  var params = new URLSearchParams(window.location.search);
  var KEYS = ["q", "since", "until", "source", "lang", "tag", "interval"];
  var queries = params.getAll("q").filter(function (q) { return q.trim(); });

  function apiUrl(path, extra) {
    var p = new URLSearchParams();
    params.forEach(function (v, k) {
      if (KEYS.indexOf(k) >= 0 && v.trim() && !(k === "interval" && v === "auto")) p.append(k, v);
    });
    Object.keys(extra || {}).forEach(function (k) { p.set(k, extra[k]); });
    return path + "?" + p.toString();
  }

  function searchHref(field, key) {
    var p = new URLSearchParams();
    ["since", "until", "source", "lang", "tag"].forEach(function (k) {
      params.getAll(k).forEach(function (v) { if (v.trim()) p.append(k, v); });
    });
    var q = queries.length > 1 ? queries.map(function (x) { return "(" + x + ")"; }).join(" OR ") : (queries[0] || "");
    if (field === "source") p.append("source", key);
    else if (field === "language") p.append("lang", key);
    else if (field === "tags") p.append("tag", key);
    else if (field === "keywords") q = (q ? "(" + q + ") AND " : "") + 'keyword:"' + key.replace(/"/g, "") + '"';
    else if (field === "places") q = (q ? "(" + q + ") AND " : "") + 'place:"' + key.replace(/"/g, "") + '"';
    else if (field === "entities") q = (q ? "(" + q + ") AND " : "") + 'entity:"' + key.replace(/"/g, "") + '"';
    else return null;
    if (q) p.set("q", q);
    return "/search?" + p.toString();
  }

  var names = null;
  try { names = new Intl.DisplayNames(["en"], { type: "language" }); } catch (e) { names = null; }
  function languageName(code) {
    var name = null;
    try { name = names && code && code.length <= 3 ? names.of(code) : null; } catch (e) { name = null; }
    return name && name !== code ? name + " (" + code + ")" : code;
  }

  // -- query rows: colour swatches, add / remove ----------------------------------------------------
  var list = document.getElementById("query-list");
  function paintSwatches() {
    if (!list) return;
    list.querySelectorAll(".query-row").forEach(function (row, i) {
      var sw = row.querySelector(".swatch");
      if (sw) sw.style.background = C.color(i);
    });
  }
  paintSwatches();
  var add = document.getElementById("add-query");
  if (add && list) {
    add.addEventListener("click", function () {
      var rows = list.querySelectorAll(".query-row");
      if (rows.length >= 6) return;
      var row = rows[rows.length - 1].cloneNode(true);
      var input = row.querySelector("input");
      input.value = "";
      input.placeholder = "Another query to compare";
      list.appendChild(row);
      paintSwatches();
      input.focus();
    });
    list.addEventListener("click", function (ev) {
      var btn = ev.target.closest("[data-remove]");
      if (!btn) return;
      var rows = list.querySelectorAll(".query-row");
      if (rows.length > 1) btn.closest(".query-row").remove();
      else rows[0].querySelector("input").value = "";
      paintSwatches();
    });
  }

  if (!document.getElementById("chart-timeline")) return; // the page shows a query error instead

  // -- mentions over time + share of voice ----------------------------------------------------------
  var timelineNode = document.getElementById("chart-timeline");
  var mode = "counts";
  var timeline = null;

  function drawTimeline() {
    if (!timeline) return;
    var series;
    if (timeline.series.length) {
      series = timeline.series.map(function (s) {
        return { name: s.query, values: mode === "share" ? s.share : s.counts,
          note: C.fmt(s.total) + " · " + C.fmtPct(s.share_total) };
      });
    } else {
      series = [{ name: "All articles", values: mode === "share" ? timeline.totals.map(function (t) { return t ? 100 : 0; })
        : timeline.totals, note: C.fmt(timeline.total) }];
    }
    C.lineChart(timelineNode, {
      labels: timeline.buckets, series: series, interval: timeline.interval, percent: mode === "share",
      title: "Mentions per " + timeline.interval,
      extra: function (si, i) {
        if (!timeline.series.length) return "";
        var s = timeline.series[si];
        return mode === "share" ? C.fmt(s.counts[i]) + " of " + C.fmt(timeline.totals[i]) : C.fmtPct(s.share[i]);
      },
      emptyText: "No dated articles in this range."
    });
    timelineNode.setAttribute("data-total", timeline.total);
    timelineNode.setAttribute("data-interval", timeline.interval);
  }

  function drawSov() {
    var node = document.getElementById("chart-sov");
    if (!timeline.series.length) {
      C.barChart(node, [{ label: "All articles", value: timeline.total, note: C.fmt(timeline.total) + " · 100%" }]);
      return;
    }
    C.barChart(node, timeline.series.map(function (s, i) {
      return { label: s.query, value: s.total, color: C.color(i), href: "/search?q=" + encodeURIComponent(s.query),
        note: C.fmt(s.total) + " · " + C.fmtPct(s.share_total) };
    }), { valueWidth: 96, emptyText: "None of the queries matched in this range." });
  }

  document.querySelectorAll(".segmented .seg").forEach(function (btn) {
    btn.addEventListener("click", function () {
      mode = btn.getAttribute("data-mode");
      document.querySelectorAll(".segmented .seg").forEach(function (b) {
        var on = b === btn;
        b.classList.toggle("active", on);
        b.setAttribute("aria-pressed", on ? "true" : "false");
      });
      drawTimeline();
    });
  });

  function setKpi(id, text) {
    var node = document.getElementById(id);
    if (node) node.textContent = text;
  }

  C.getJSON(apiUrl("/api/aggregates/timeline")).then(function (data) {
    timeline = data;
    drawTimeline();
    drawSov();
    setKpi("kpi-total", C.fmt(data.total));
    if (data.series.length) {
      var matching = data.series.map(function (s) { return C.fmt(s.total); }).join(" / ");
      setKpi("kpi-matching", matching);
    } else {
      setKpi("kpi-matching", "all");
    }
  }).catch(function (err) {
    C.showError(timelineNode, err.message);
    C.showError(document.getElementById("chart-sov"), err.message);
  });

  // -- facets ------------------------------------------------------------------------------------------
  var facetNodes = [];
  document.querySelectorAll("[data-facet]").forEach(function (node) {
    var field = node.getAttribute("data-facet");
    var size = node.getAttribute("data-size") || "10";
    C.getJSON(apiUrl("/api/aggregates/facet", { field: field, size: size })).then(function (data) {
      node.setAttribute("data-total", data.total);
      var draw;
      if (field === "is_original") {
        var order = { original: 0, copy: 1 };
        var items = data.buckets.slice().sort(function (a, b) { return order[a.key] - order[b.key]; }).map(function (b) {
          return { label: b.key === "original" ? "Original" : "Syndicated copy", value: b.count,
            color: b.key === "original" ? "#2563eb" : "#f59e0b", key: b.key };
        });
        draw = function () { C.shareBar(node, items, { title: "originals vs copies" }); };
        var orig = data.buckets.filter(function (b) { return b.key === "original"; })[0];
        setKpi("kpi-original", data.total ? C.fmtPct((100 * (orig ? orig.count : 0)) / data.total) : "–");
      } else {
        var bars = data.buckets.map(function (b) {
          return { label: field === "language" ? languageName(b.key) : (b.label || b.key), key: b.key, value: b.count,
            href: searchHref(field, b.key) };
        });
        draw = function () { C.barChart(node, bars, { title: "top " + field }); };
      }
      draw();
      facetNodes.push(draw);
    }).catch(function (err) { C.showError(node, err.message); });
  });

  C.getJSON(apiUrl("/api/aggregates/facet", { field: "source", size: "100" })).then(function (data) {
    setKpi("kpi-sources", data.buckets.length >= 100 ? "100+" : C.fmt(data.buckets.length));
  }).catch(function () {});

  C.responsive(function () {
    drawTimeline();
    if (timeline) drawSov();
    facetNodes.forEach(function (fn) { fn(); });
  });
})();
