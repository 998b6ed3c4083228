/* Alerts: the rule preview chart (matches per day) from /api/rules/preview. */
(function () {
  "use strict";
  var C = window.IngestCharts;
  var node = document.getElementById("chart-preview");
  if (!node) return;
  var query = node.getAttribute("data-query");
  var days = node.getAttribute("data-days") || "30";
  var summary = document.getElementById("preview-summary");
  var examples = document.getElementById("preview-examples");

  function draw(data) {
    C.columnChart(node, { labels: data.buckets, values: data.counts },
      { title: "matches per day", emptyText: "No matches in the last " + data.days + " days." });
  }

  C.getJSON("/api/rules/preview?" + new URLSearchParams({ q: query, days: days }).toString()).then(function (data) {
    node.setAttribute("data-total", data.total);
    summary.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = C.fmt(data.total);
    summary.appendChild(strong);
    summary.appendChild(document.createTextNode(
      " matching articles in the last " + data.days + " days · " + C.fmt(data.per_day) + " per day on average"));
    draw(data);
    C.responsive(function () { draw(data); });
    data.examples.forEach(function (hit) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/articles/" + encodeURIComponent(hit.id);
      a.textContent = hit.title || hit.url;
      li.appendChild(a);
      var meta = document.createElement("span");
      meta.className = "muted small";
      meta.textContent = " · " + hit.source + (hit.published ? " · " + hit.published.slice(0, 10) : "");
      li.appendChild(meta);
      examples.appendChild(li);
    });
  }).catch(function (err) {
    C.showError(node, err.message);
  });
})();
