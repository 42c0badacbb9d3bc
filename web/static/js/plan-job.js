// The plan job page: poll its JSON URL every 1.5 s while the job runs, redraw the status and the
// chart (drawn by the server), and reload the page when the job ends (draft link, retry button).
// Without script the page refreshes itself (a <noscript> meta refresh).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.getAttribute("data-active") !== "true") { return; }
  var url = box.getAttribute("data-status-url");
  function text(selector, value) {
    var el = box.querySelector(selector);
    if (el && el.textContent !== value) { el.textContent = value; }
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (job) {
        if (!job.active) { window.location.reload(); return; }
        text(".job-status", job.status_label);
        text(".job-best", job.best === null ? "—" : Math.round(job.best).toLocaleString("en"));
        text(".job-improvements", String(job.improvements));
        var chart = document.getElementById("progress-chart");
        if (chart) { chart.innerHTML = job.chart; }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
