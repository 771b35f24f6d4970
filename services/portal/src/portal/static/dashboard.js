// 统计看板: draws the charts from the JSON the page carries (no inline script: the CSP forbids it).
// data.portfolio: the portfolio's groups and timings; data.summary: the declarations' sums (for
// users the portfolio does not answer). Amounts arrive as decimal strings and are shown in 万元.
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  function wan(a) { return Math.round(Number(a) / 100) / 100; }
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var c = echarts.init(el, null, { renderer: "svg" });
    c.setOption(Object.assign({ animation: false, tooltip: { trigger: "axis" }, grid: { containLabel: true } }, option));
    window.addEventListener("resize", function () { c.resize(); });
  }
  function countsAndAmounts(id, group, amountName) {
    chart(id, {
      legend: { data: ["项目数", amountName] },
      xAxis: { type: "category", data: group.labels },
      yAxis: [{ type: "value", name: "项目数" }, { type: "value", name: "万元" }],
      series: [
        { name: "项目数", type: "bar", data: group.counts },
        { name: amountName, type: "line", yAxisIndex: 1, data: group.declared.map(wan) }
      ]
    });
  }
  function pie(id, labels, counts) {
    chart(id, {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: "65%", data: labels.map(function (l, i) { return { name: l, value: counts[i] }; }) }]
    });
  }

  var p = data.portfolio;
  if (p) {
    countsAndAmounts("chart-p-year", p.year, "申报总投资（万元）");
    pie("chart-p-stage", p.stage.labels, p.stage.counts);
    countsAndAmounts("chart-p-tenant", p.tenant, "申报总投资（万元）");
    chart("chart-p-department", {
      dataZoom: p.department.labels.length > 20 ? [{ type: "slider", end: Math.round(2000 / p.department.labels.length) }] : [],
      xAxis: { type: "category", data: p.department.labels },
      yAxis: { type: "value", name: "万元" },
      series: [{ name: "申报总投资（万元）", type: "bar", data: p.department.declared.map(wan) }]
    });
    chart("chart-p-timing", {
      legend: { data: ["申报至批复", "合同至验收"] },
      xAxis: { type: "category", data: p.timings.labels },
      yAxis: { type: "value", name: "工作日" },
      series: [
        { name: "申报至批复", type: "bar", data: p.timings.approval },
        { name: "合同至验收", type: "bar", data: p.timings.acceptance }
      ]
    });
  }

  var s = data.summary;
  if (s) {
    chart("chart-year", {
      legend: { data: ["项目数", "总投资（万元）"] },
      xAxis: { type: "category", data: s.year.labels },
      yAxis: [{ type: "value", name: "项目数" }, { type: "value", name: "万元" }],
      series: [
        { name: "项目数", type: "bar", data: s.year.counts },
        { name: "总投资（万元）", type: "line", yAxisIndex: 1, data: s.year.amounts.map(wan) }
      ]
    });
    pie("chart-status", s.status.labels, s.status.counts);
    chart("chart-org", {
      xAxis: { type: "category", data: s.org.labels },
      yAxis: { type: "value", name: "万元" },
      series: [{ name: "总投资（万元）", type: "bar", data: s.org.amounts.map(wan) }]
    });
  }
})();
