// The project page's charts: Chart.js (vendored) draws the series the server put in
// #dashboard-data (json_script). Words come from each canvas's data-* attributes; the
// same figures are on the page as text and tables, so without this script nothing is lost.
(function () {
  "use strict";

  const INK = "#1b1b1f";
  const GRID = "#d9dae0";
  const MARK = "#1f5fd1"; // 5.6:1 on white
  const FILL = "rgba(31, 95, 209, 0.15)";

  function draw() {
    const source = document.getElementById("dashboard-data");
    if (!source || typeof window.Chart !== "function") return;
    const data = JSON.parse(source.textContent);
    const Chart = window.Chart;
    Chart.defaults.color = INK;
    Chart.defaults.borderColor = GRID;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.animation = false; // figures, not a show; and no motion to reduce

    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const series = data[canvas.dataset.chart];
      if (!series || Chart.getChart(canvas)) return;
      const line = canvas.dataset.type === "line";
      new Chart(canvas, {
        type: line ? "line" : "bar",
        data: {
          labels: series.labels,
          datasets: [{
            label: canvas.dataset.label,
            data: series.values,
            borderColor: MARK,
            backgroundColor: line ? FILL : MARK,
            fill: line,
            pointRadius: series.values.length > 60 ? 0 : 2,
            stepped: line ? "before" : false,
          }],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: {
            x: { title: { display: true, text: canvas.dataset.xTitle }, ticks: { maxRotation: 0, autoSkip: true } },
            y: { beginAtZero: true, title: { display: true, text: canvas.dataset.yTitle }, ticks: { precision: 0 } },
          },
        },
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
