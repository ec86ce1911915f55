// Draws the 90-day health trend on the Account 360 from the json_script data.
(function () {
  const canvas = document.getElementById("health-trend");
  const source = document.getElementById("health-trend-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const points = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "line",
    data: {
      labels: points.map((p) => p[0]),
      datasets: [{ data: points.map((p) => p[1]), borderColor: "#3b5bdb", backgroundColor: "rgba(59,91,219,.08)", fill: true, tension: 0.25, pointRadius: 0, spanGaps: true }],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { min: 0, max: 100, ticks: { stepSize: 50 } }, x: { ticks: { maxTicksLimit: 4 } } },
    },
  });
})();
