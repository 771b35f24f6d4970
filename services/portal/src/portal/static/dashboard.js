// 统计看板: draws the charts from the JSON the page carries (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var c = echarts.init(el, null, { renderer: "svg" });
    c.setOption(Object.assign({ animation: false, tooltip: { trigger: "axis" }, grid: { containLabel: true } }, option));
    window.addEventListener("resize", function () { c.resize(); });
  }
  chart("chart-year", {
    legend: { data: ["项目数", "总投资（万元）"] },
    xAxis: { type: "category", data: data.year.labels },
    yAxis: [{ type: "value", name: "项目数" }, { type: "value", name: "万元" }],
    series: [
      { name: "项目数", type: "bar", data: data.year.counts },
      { name: "总投资（万元）", type: "line", yAxisIndex: 1, data: data.year.amounts.map(function (a) { return Math.round(Number(a) / 100) / 100; }) }
    ]
  });
  chart("chart-status", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: "65%", data: data.status.labels.map(function (l, i) { return { name: l, value: data.status.counts[i] }; }) }]
  });
  chart("chart-org", {
    xAxis: { type: "category", data: data.org.labels },
    yAxis: { type: "value", name: "万元" },
    series: [{ name: "总投资（万元）", type: "bar", data: data.org.amounts.map(function (a) { return Math.round(Number(a) / 100) / 100; }) }]
  });
})();
