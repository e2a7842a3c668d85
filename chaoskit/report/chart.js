// Draws every chart of a chaoskit report with uPlot, from the JSON that chaoskit.report.chart wrote beside it.
(function () {
  "use strict";
  var ratio = window.devicePixelRatio || 1;
  var AXIS = 110;  // the same width on every panel, so their time axes line up

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function vline(u, t, color, dash, width) {
    var x = u.valToPos(t, "x", true), ctx = u.ctx;
    ctx.setLineDash(dash.map(function (d) { return d * ratio; }));
    ctx.strokeStyle = color;
    ctx.lineWidth = width * ratio;
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
  }

  function clipped(u, draw) {
    var ctx = u.ctx;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    draw(ctx);
    ctx.restore();
  }

  // Under the series: the fault windows. Over them: phase boundaries, detection, recovery, stops.
  function faults(spec) {
    return function (u) {
      clipped(u, function (ctx) {
        ctx.fillStyle = rgba(spec.colors.fault, spec.fault_alpha);
        spec.faults.forEach(function (f) {
          var x0 = u.valToPos(f[0], "x", true), x1 = u.valToPos(f[1], "x", true);
          ctx.fillRect(x0, u.bbox.top, Math.max(ratio, x1 - x0), u.bbox.height);
        });
      });
    };
  }

  function marks(spec, labels) {
    return function (u) {
      clipped(u, function () {
        spec.phases.slice(1).forEach(function (p) { vline(u, p[0], spec.colors.phase, [4, 3], 1); });
        spec.lines.forEach(function (l) { vline(u, l.t, l.color, l.dash, 1.5); });
      });
      if (labels) {
        var ctx = u.ctx;
        ctx.fillStyle = "#566573";
        ctx.font = 11 * ratio + "px sans-serif";
        ctx.textAlign = "center";
        spec.phases.forEach(function (p) {
          ctx.fillText(p[2], u.valToPos((p[0] + p[1]) / 2, "x", true), u.bbox.top - 4 * ratio);
        });
      }
    };
  }

  function strip(panel) {
    var rows = panel.probes.length;
    return function (u) {
      clipped(u, function (ctx) {
        Object.keys(panel.marks).forEach(function (state) {
          ctx.fillStyle = panel.colors[state];
          ctx.strokeStyle = panel.colors[state];
          ctx.lineWidth = 2 * ratio;
          panel.marks[state].forEach(function (m) {
            var x = u.valToPos(m[0], "x", true), y = u.valToPos(rows - 1 - m[1], "y", true), r = 3.5 * ratio;
            ctx.beginPath();
            if (state === "violated") {
              ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
              ctx.stroke();
            } else if (state === "inconclusive") {
              ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
            } else {
              ctx.arc(x, y, r, 0, 2 * Math.PI);
              ctx.fill();
            }
          });
        });
      });
    };
  }

  function options(spec, panel, index, width, group) {
    var last = index === spec.panels.length - 1;
    var opts = {
      width: width,
      height: (panel.kind === "status" ? 20 + 24 * panel.probes.length : index === 0 ? 230 : 150) + (last ? 40 : 24),
      scales: {x: {time: false, range: [0, spec.end]}},
      axes: [{label: last ? "seconds since the run started" : "", size: last ? 40 : 24}, {label: panel.label, size: AXIS}],
      cursor: {sync: {key: group, setSeries: false}, drag: {x: true, y: false}},
      hooks: {drawClear: [faults(spec)], draw: [marks(spec, index === 0)]},
      padding: [index === 0 ? 18 : 8, 12, 0, 0]
    };
    if (panel.kind === "status") {
      var rows = panel.probes.length;
      opts.scales.y = {range: [-0.6, rows - 0.4]};
      opts.axes[1] = {label: "", size: AXIS, splits: function () { return panel.probes.map(function (_, i) { return i; }); },
                      values: function (u, splits) { return splits.map(function (i) { return panel.probes[rows - 1 - i] || ""; }); },
                      grid: {show: false}};
      opts.series = [{}, {label: "probes", show: false}];
      opts.legend = {show: false};
      opts.hooks.draw.push(strip(panel));
    } else {
      opts.scales.y = panel.log ? {distr: 3} : {range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; }};
      opts.series = [{label: "t (s)"}].concat(panel.series.map(function (s) {
        return {label: s.name, stroke: s.color, width: s.width, dash: s.dash, spanGaps: s.joined,
                points: {show: s.dots, size: 5, fill: s.color}};
      }));
    }
    return opts;
  }

  function data(spec, panel) {
    if (panel.kind === "status") return [[0, spec.end], [null, null]];
    return [panel.x].concat(panel.series.map(function (s) { return s.values; }));
  }

  // Zooming one panel (drag across it) zooms the others of the same run; a double click resets them all.
  function linkZoom(plots) {
    var busy = false;
    plots.forEach(function (p) {
      p.hooks.setScale = [function (u, key) {
        if (key !== "x" || busy) return;
        busy = true;
        plots.forEach(function (o) { if (o.plot && o.plot !== u) o.plot.setScale("x", {min: u.scales.x.min, max: u.scales.x.max}); });
        busy = false;
      }];
    });
  }

  document.querySelectorAll("script.chaoskit-chart").forEach(function (node, n) {
    var spec = JSON.parse(node.textContent), area = node.previousElementSibling;
    var width = Math.max(320, area.clientWidth || 900), group = "chaoskit-" + n;
    var plots = spec.panels.map(function (panel, i) {
      var opts = options(spec, panel, i, width, group);
      return {opts: opts, panel: panel, hooks: opts.hooks, plot: null};
    });
    linkZoom(plots);
    plots.forEach(function (p) { p.plot = new uPlot(p.opts, data(spec, p.panel), area); });
  });
})();
