/* Feed health: sparklines from data-values, meters from data-v (no inline styles: CSP). */
(function () {
  "use strict";
  var C = window.IngestCharts;
  document.querySelectorAll(".spark[data-values]").forEach(function (node) {
    var values = node.getAttribute("data-values").split(",").map(Number);
    C.sparkline(node, values);
  });
  document.querySelectorAll(".meter[data-v]").forEach(function (node) {
    var bar = node.querySelector("span");
    if (bar) bar.style.width = Math.min(100, Math.max(0, Number(node.getAttribute("data-v")))) + "%";
  });
})();
