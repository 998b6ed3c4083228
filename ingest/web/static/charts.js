/* ingest charts: a small hand-written SVG chart module (line, bars, columns, share bar, sparkline).
 * No dependencies, no build step. Every mark carries data-* attributes with the numbers it draws,
 * so what is on screen can be checked against the JSON API. Exposed as window.IngestCharts. */
(function (global) {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#2563eb", "#e11d48", "#059669", "#d97706", "#7c3aed", "#0891b2"];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function el(tag, attrs, parent, text) {
    var node = document.createElementNS(NS, tag);
    for (var k in attrs || {}) {
      if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, attrs[k]);
    }
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function html(tag, cls, parent, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function fmt(n) {
    return Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 });
  }

  function fmtPct(n) {
    var v = Number(n);
    return (v >= 10 || v === 0 ? Math.round(v) : Math.round(v * 10) / 10) + "%";
  }

  function niceStep(raw) {
    if (raw <= 0) return 1;
    var e = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / e;
    var nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return nf * e;
  }

  function ticks(max, count, integer) {
    var step = niceStep((max || 1) / (count || 4));
    if (integer) step = Math.max(1, Math.round(step));
    var top = Math.max(step, Math.ceil((max || 0) / step) * step);
    var out = [];
    for (var v = 0; v <= top + step / 2; v += step) out.push(Math.round(v * 1000) / 1000);
    return out;
  }

  function parseDate(iso) {
    return new Date(iso);
  }

  function dateLabel(iso, interval, long) {
    var d = parseDate(iso);
    var day = d.getUTCDate(), mon = MONTHS[d.getUTCMonth()], year = d.getUTCFullYear();
    if (interval === "month") return mon + " " + year;
    if (interval === "hour") {
      var h = ("0" + d.getUTCHours()).slice(-2) + ":00";
      return long ? day + " " + mon + " " + year + ", " + h + " UTC" : (d.getUTCHours() === 0 ? day + " " + mon : h);
    }
    if (interval === "week") return (long ? "Week of " : "") + day + " " + mon + (long ? " " + year : "");
    return day + " " + mon + (long ? " " + year : "");
  }

  function truncate(text, max) {
    text = String(text);
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function empty(node, message) {
    clear(node);
    node.setAttribute("data-state", "empty");
    html("div", "chart-empty", node, message || "No data for this selection.");
  }

  function color(i) {
    return PALETTE[i % PALETTE.length];
  }

  /* Line chart: opts = {labels: [iso], series: [{name, values, color?, total?}], interval, percent, height} */
  function lineChart(node, opts) {
    clear(node);
    var labels = opts.labels || [];
    var series = opts.series || [];
    var any = series.some(function (s) { return s.values.some(function (v) { return v > 0; }); });
    if (!labels.length || !any) return empty(node, opts.emptyText);
    node.setAttribute("data-state", "ready");
    var width = Math.max(320, node.clientWidth || 640);
    var height = opts.height || 280;
    var m = { top: 14, right: 18, bottom: 30, left: 48 };
    var w = width - m.left - m.right, h = height - m.top - m.bottom;
    var max = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
    var yt = ticks(max, 4, !opts.percent);
    var top = yt[yt.length - 1];
    var n = labels.length;
    var x = function (i) { return m.left + (n === 1 ? w / 2 : (i * w) / (n - 1)); };
    var y = function (v) { return m.top + h - (v / top) * h; };
    var fmtY = opts.percent ? fmtPct : fmt;

    var svgEl = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height,
      class: "chart-svg", role: "img", "aria-label": opts.title || "time series" }, node);
    var grid = el("g", { class: "grid" }, svgEl);
    yt.forEach(function (t) {
      el("line", { x1: m.left, x2: width - m.right, y1: y(t), y2: y(t) }, grid);
      el("text", { x: m.left - 8, y: y(t) + 4, "text-anchor": "end", class: "axis-label" }, grid, fmtY(t));
    });
    var every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(w / 78))));
    var xa = el("g", { class: "x-axis" }, svgEl);
    for (var i = 0; i < n; i += every) {
      el("text", { x: x(i), y: height - 8, "text-anchor": n === 1 ? "middle" : i === 0 ? "start" : "middle",
        class: "axis-label" }, xa, dateLabel(labels[i], opts.interval));
    }
    el("line", { x1: m.left, x2: width - m.right, y1: y(0), y2: y(0), class: "baseline" }, svgEl);

    series.forEach(function (s, si) {
      var c = s.color || color(si);
      var g = el("g", { class: "series", "data-series": si, "data-name": s.name }, svgEl);
      var d = s.values.map(function (v, i) { return (i ? "L" : "M") + x(i).toFixed(1) + "," + y(v).toFixed(1); }).join("");
      if (series.length === 1 && n > 1) {
        el("path", { d: d + "L" + x(n - 1).toFixed(1) + "," + y(0) + "L" + x(0).toFixed(1) + "," + y(0) + "Z",
          fill: c, class: "area" }, g);
      }
      var total = s.values.reduce(function (a, b) { return a + b; }, 0);
      el("path", { d: d, stroke: c, class: "series-line", "data-total": Math.round(total * 100) / 100,
        "data-points": s.values.length }, g);
      if (n <= 62) {
        s.values.forEach(function (v, i) {
          if (v > 0 || n <= 12) {
            el("circle", { cx: x(i), cy: y(v), r: n > 40 ? 2.2 : 3, fill: "#fff", stroke: c, class: "pt",
              "data-value": v, "data-bucket": labels[i] }, g);
          }
        });
      }
    });

    // hover: a guide line and a tooltip listing every series at the nearest bucket
    var guide = el("line", { y1: m.top, y2: m.top + h, class: "guide", visibility: "hidden" }, svgEl);
    var tip = html("div", "chart-tip", node);
    tip.hidden = true;
    var overlay = el("rect", { x: m.left, y: m.top, width: w, height: h, fill: "transparent" }, svgEl);
    overlay.addEventListener("mousemove", function (ev) {
      var box = svgEl.getBoundingClientRect();
      var px = ev.clientX - box.left;
      var i = n === 1 ? 0 : Math.max(0, Math.min(n - 1, Math.round(((px - m.left) / w) * (n - 1))));
      guide.setAttribute("x1", x(i));
      guide.setAttribute("x2", x(i));
      guide.setAttribute("visibility", "visible");
      clear(tip);
      html("div", "tip-title", tip, dateLabel(labels[i], opts.interval, true));
      series.forEach(function (s, si) {
        var row = html("div", "tip-row", tip);
        var sw = html("span", "tip-swatch", row);
        sw.style.background = s.color || color(si);
        html("span", "tip-name", row, truncate(s.name, 32));
        html("b", null, row, fmtY(s.values[i]));
        if (opts.extra) html("span", "tip-extra", row, opts.extra(si, i));
      });
      tip.hidden = false;
      var left = x(i) + 12;
      if (left + tip.offsetWidth > width) left = x(i) - tip.offsetWidth - 12;
      tip.style.left = left + "px";
      tip.style.top = m.top + 4 + "px";
    });
    overlay.addEventListener("mouseleave", function () {
      guide.setAttribute("visibility", "hidden");
      tip.hidden = true;
    });

    if (opts.legend !== false) {
      var legend = html("div", "legend", node);
      series.forEach(function (s, si) {
        var item = html("span", "legend-item", legend);
        var sw = html("span", "legend-swatch", item);
        sw.style.background = s.color || color(si);
        html("span", "legend-name", item, s.name);
        if (s.note) html("span", "legend-note", item, s.note);
      });
    }
    return svgEl;
  }

  /* Horizontal bars: items = [{label, value, href?, note?, color?}] */
  function barChart(node, items, opts) {
    opts = opts || {};
    clear(node);
    items = (items || []).filter(function (it) { return it.value > 0; });
    if (!items.length) return empty(node, opts.emptyText);
    node.setAttribute("data-state", "ready");
    var width = Math.max(260, node.clientWidth || 400);
    var row = opts.rowHeight || 28;
    var height = items.length * row + 4;
    var labelW = Math.min(190, Math.round(width * 0.38));
    var valueW = opts.valueWidth || 64;
    var barW = width - labelW - valueW - 8;
    var max = Math.max.apply(null, items.map(function (it) { return it.value; }));
    var svgEl = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height,
      class: "chart-svg", role: "img", "aria-label": opts.title || "bar chart" }, node);
    var maxChars = Math.floor(labelW / 7);
    items.forEach(function (it, i) {
      var y0 = i * row + 2;
      var g = it.href ? el("a", { href: it.href, class: "bar-link" }, svgEl) : el("g", {}, svgEl);
      el("title", {}, g, it.label + ": " + fmt(it.value) + (it.note ? " (" + it.note + ")" : ""));
      el("text", { x: labelW - 10, y: y0 + row / 2 + 4, "text-anchor": "end", class: "bar-label" }, g,
        truncate(it.label, maxChars));
      el("rect", { x: labelW, y: y0 + 5, width: barW, height: row - 10, rx: 3, class: "bar-track" }, g);
      el("rect", { x: labelW, y: y0 + 5, width: Math.max(2, (it.value / max) * barW), height: row - 10, rx: 3,
        fill: it.color || opts.color || color(0), class: "bar", "data-label": it.label,
        "data-key": it.key !== undefined ? it.key : it.label, "data-value": it.value }, g);
      el("text", { x: width - 4, y: y0 + row / 2 + 4, "text-anchor": "end", class: "bar-value" }, g,
        it.note ? it.note : fmt(it.value));
    });
    return svgEl;
  }

  /* Vertical columns over time: data = {labels: [iso], values: [n], interval} */
  function columnChart(node, data, opts) {
    opts = opts || {};
    clear(node);
    var labels = data.labels || [], values = data.values || [];
    if (!values.some(function (v) { return v > 0; })) return empty(node, opts.emptyText);
    node.setAttribute("data-state", "ready");
    var width = Math.max(320, node.clientWidth || 640);
    var height = opts.height || 200;
    var m = { top: 12, right: 12, bottom: 28, left: 40 };
    var w = width - m.left - m.right, h = height - m.top - m.bottom;
    var yt = ticks(Math.max.apply(null, values), 4, true);
    var top = yt[yt.length - 1];
    var n = values.length;
    var slot = w / n;
    var y = function (v) { return m.top + h - (v / top) * h; };
    var svgEl = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height,
      class: "chart-svg", role: "img", "aria-label": opts.title || "column chart" }, node);
    var grid = el("g", { class: "grid" }, svgEl);
    yt.forEach(function (t) {
      el("line", { x1: m.left, x2: width - m.right, y1: y(t), y2: y(t) }, grid);
      el("text", { x: m.left - 8, y: y(t) + 4, "text-anchor": "end", class: "axis-label" }, grid, fmt(t));
    });
    var every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(w / 70))));
    values.forEach(function (v, i) {
      var bw = Math.max(1, slot * 0.72);
      var g = el("g", {}, svgEl);
      el("title", {}, g, dateLabel(labels[i], "day", true) + ": " + fmt(v));
      el("rect", { x: m.left + i * slot + (slot - bw) / 2, y: y(v), width: bw, height: Math.max(0, y(0) - y(v)),
        rx: Math.min(3, bw / 3), fill: opts.color || color(0), class: "col", "data-value": v,
        "data-bucket": labels[i] }, g);
      if (i % every === 0) {
        el("text", { x: m.left + i * slot + slot / 2, y: height - 8, "text-anchor": "middle", class: "axis-label" },
          svgEl, dateLabel(labels[i], "day"));
      }
    });
    el("line", { x1: m.left, x2: width - m.right, y1: y(0), y2: y(0), class: "baseline" }, svgEl);
    return svgEl;
  }

  /* One 100% stacked bar with a legend: items = [{label, value, color?}] */
  function shareBar(node, items, opts) {
    opts = opts || {};
    clear(node);
    var total = items.reduce(function (a, it) { return a + it.value; }, 0);
    if (!total) return empty(node, opts.emptyText);
    node.setAttribute("data-state", "ready");
    var width = Math.max(260, node.clientWidth || 400);
    var height = 34;
    var svgEl = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height,
      class: "chart-svg", role: "img", "aria-label": opts.title || "share" }, node);
    var x0 = 0;
    items.forEach(function (it, i) {
      var bw = (it.value / total) * width;
      var g = el("g", {}, svgEl);
      el("title", {}, g, it.label + ": " + fmt(it.value) + " (" + fmtPct((100 * it.value) / total) + ")");
      el("rect", { x: x0, y: 4, width: Math.max(0, bw - (i < items.length - 1 ? 2 : 0)), height: height - 8,
        fill: it.color || color(i), class: "bar seg", "data-label": it.label,
        "data-key": it.key !== undefined ? it.key : it.label, "data-value": it.value }, g);
      if (bw > 46) {
        el("text", { x: x0 + bw / 2, y: height / 2 + 4, "text-anchor": "middle", class: "seg-label" }, g,
          fmtPct((100 * it.value) / total));
      }
      x0 += bw;
    });
    var legend = html("div", "legend", node);
    items.forEach(function (it, i) {
      var item = html("span", "legend-item", legend);
      var sw = html("span", "legend-swatch", item);
      sw.style.background = it.color || color(i);
      html("span", "legend-name legend-plain", item, it.label);
      html("span", "legend-note", item, fmt(it.value) + " · " + fmtPct((100 * it.value) / total));
    });
    return svgEl;
  }

  /* Sparkline: values = [n, ...]; a thin line with the last point marked */
  function sparkline(node, values, opts) {
    opts = opts || {};
    clear(node);
    var width = opts.width || 120, height = opts.height || 26;
    var max = Math.max.apply(null, values.concat([1]));
    var n = values.length;
    var x = function (i) { return 1 + (n === 1 ? (width - 2) / 2 : (i * (width - 2)) / (n - 1)); };
    var y = function (v) { return height - 2 - (v / max) * (height - 5); };
    var total = values.reduce(function (a, b) { return a + b; }, 0);
    var svgEl = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height,
      class: "spark-svg", role: "img", "aria-label": total + " articles" }, node);
    el("title", {}, svgEl, fmt(total) + " articles in " + n + " days, peak " + fmt(max === 1 && !total ? 0 : max) + "/day");
    var d = values.map(function (v, i) { return (i ? "L" : "M") + x(i).toFixed(1) + "," + y(v).toFixed(1); }).join("");
    el("path", { d: d + "L" + x(n - 1).toFixed(1) + "," + (height - 1) + "L" + x(0).toFixed(1) + "," + (height - 1) + "Z",
      class: "spark-area" }, svgEl);
    el("path", { d: d, class: "spark-line", "data-total": total }, svgEl);
    el("circle", { cx: x(n - 1), cy: y(values[n - 1]), r: 2, class: "spark-dot" }, svgEl);
    var label = html("span", "spark-total", node, fmt(total));
    label.title = "articles in the last " + n + " days";
    return svgEl;
  }

  /* Re-render on resize (charts measure their container) */
  function responsive(fn) {
    var timer = null, lastW = window.innerWidth;
    window.addEventListener("resize", function () {
      if (Math.abs(window.innerWidth - lastW) < 8) return;
      lastW = window.innerWidth;
      clearTimeout(timer);
      timer = setTimeout(fn, 150);
    });
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) {
          var detail = body && (body.message || body.detail);
          if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join("; ");
          var err = new Error(detail || "HTTP " + r.status);
          err.body = body;
          throw err;
        }
        return body;
      });
    });
  }

  function showError(node, message) {
    clear(node);
    node.setAttribute("data-state", "error");
    html("div", "chart-error", node, message);
  }

  global.IngestCharts = {
    lineChart: lineChart, barChart: barChart, columnChart: columnChart, shareBar: shareBar,
    sparkline: sparkline, responsive: responsive, getJSON: getJSON, showError: showError,
    color: color, fmt: fmt, fmtPct: fmtPct, dateLabel: dateLabel, palette: PALETTE
  };
})(window);
