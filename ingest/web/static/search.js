/* Search page: submit on sort change; "back to results" uses history when there is one. */
(function () {
  "use strict";
  document.querySelectorAll("[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });

  // Date histogram of the matching articles: the same filters through /api/aggregates/timeline.
  var node = document.getElementById("chart-histogram");
  var C = window.IngestCharts;
  if (!node || !C) return;
  var params = new URLSearchParams(node.getAttribute("data-qs") || "");
  var api = new URLSearchParams();
  params.forEach(function (v, k) { if (["q", "since", "until", "source", "lang", "tag"].indexOf(k) >= 0) api.append(k, v); });
  C.getJSON("/api/aggregates/timeline?" + api.toString()).then(function (data) {
    var values = data.series.length ? data.series[0].counts : data.totals;
    var total = values.reduce(function (a, b) { return a + b; }, 0);
    node.setAttribute("data-total", total);
    node.setAttribute("data-interval", data.interval);
    function draw() {
      C.columnChart(node, { labels: data.buckets, values: values, interval: data.interval },
        { title: "matching articles per " + data.interval, emptyText: "No dated articles match." });
    }
    draw();
    C.responsive(draw);
  }).catch(function (err) { C.showError(node, err); });
})();
