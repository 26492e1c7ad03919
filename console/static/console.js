// The console's script: htmx sends the session's form token; charts are drawn from the JSON beside them.
(function () {
  "use strict";
  if (window.htmx) {
    // A refused form (422) carries the errors to show: swap it in as any answer; other errors are not.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true }
    ];
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  function draw(root) {
    if (typeof echarts === "undefined") { return; }
    root.querySelectorAll("[data-chart]").forEach(function (box) {
      var source = document.getElementById(box.dataset.source);
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      var old = echarts.getInstanceByDom(box);
      if (old) { old.dispose(); }
      var chart = echarts.init(box, null, { renderer: "svg" });
      var locale = document.documentElement.lang === "vi" ? "vi-VN" : "en-GB";
      var fmt = function (v) { return Number(v).toLocaleString(locale); };
      var bar = box.dataset.chart === "bar";
      chart.setOption({
        color: ["#0b4f8a"],
        grid: { left: bar ? 140 : 60, right: 20, top: 20, bottom: 30 },
        tooltip: { trigger: "axis", valueFormatter: fmt },
        xAxis: bar ? { type: "value", axisLabel: { formatter: fmt } } : { type: "category", data: data.labels },
        yAxis: bar ? { type: "category", data: data.labels, inverse: true } : { type: "value", axisLabel: { formatter: fmt } },
        series: [{ name: data.name, type: bar ? "bar" : "line", data: data.values, smooth: false }],
        animation: false
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart]").forEach(function (box) {
      var chart = typeof echarts !== "undefined" && echarts.getInstanceByDom(box);
      if (chart) { chart.resize(); }
    });
  });
})();
