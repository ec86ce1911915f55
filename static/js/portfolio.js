// Draws the portfolio's charts from the page's json_script data; every chart's table sits beside it.
(function () {
  const source = document.getElementById("portfolio-data");
  if (!source || typeof Chart === "undefined") return;
  const charts = JSON.parse(source.textContent);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = "#495057";

  // A dashed line at the scope's mean score, over the "health by group" bars.
  const referenceLine = {
    id: "referenceLine",
    afterDatasetsDraw(chart, args, options) {
      if (options.value === null || options.value === undefined) return;
      const y = chart.scales.y.getPixelForValue(options.value);
      const { left, right } = chart.chartArea;
      const ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = "#495057";
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(right, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#495057";
      ctx.textAlign = "right";
      ctx.fillText("all: " + options.value, right, y - 4);
      ctx.restore();
    },
  };

  function options(spec) {
    const horizontal = Boolean(spec.horizontal);
    const valueAxis = horizontal ? "x" : "y";
    const categoryAxis = horizontal ? "y" : "x";
    const many = spec.datasets.length > 1;
    const opts = {
      maintainAspectRatio: false,
      animation: false,
      indexAxis: horizontal ? "y" : "x",
      plugins: {
        legend: { display: many || spec.type === "doughnut", position: spec.type === "doughnut" ? "right" : "bottom", labels: { boxWidth: 12 } },
        tooltip: { mode: spec.type === "doughnut" ? "nearest" : "index", intersect: false },
        referenceLine: { value: spec.reference },
      },
    };
    if (spec.type === "doughnut") {
      opts.cutout = "60%";
      return opts;
    }
    opts.scales = {
      [valueAxis]: { beginAtZero: true, stacked: Boolean(spec.stacked), ticks: { precision: 0 }, grid: { color: "#f1f3f5" } },
      [categoryAxis]: { stacked: Boolean(spec.stacked), grid: { display: false }, ticks: { autoSkip: !horizontal, maxRotation: 0 } },
    };
    if (spec.scoreAxis) {
      opts.scales[valueAxis].min = 0;
      opts.scales[valueAxis].max = 100;
      opts.scales[valueAxis].ticks.stepSize = 25;
    }
    if (spec.notes) {
      opts.plugins.tooltip.callbacks = { afterLabel: (item) => spec.notes[item.dataIndex] };
    }
    return opts;
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    const spec = charts[canvas.dataset.chart];
    if (!spec) return;
    if (spec.horizontal) {
      // One bar group per row, however many CSMs or stages there are.
      const rows = spec.labels.length * Math.max(1, spec.datasets.length);
      const height = Math.max(canvas.parentElement.clientHeight, spec.labels.length * 18 + rows * 6 + 70);
      canvas.parentElement.style.height = height + "px";
    }
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: options(spec),
      plugins: spec.reference !== undefined ? [referenceLine] : [],
    });
  });
})();
