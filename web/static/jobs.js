// A download being prepared (web/research/prepared.py): ask for its progress every second, move the bar,
// and reload the page once it is finished (the page then shows the file's link). Without JavaScript the
// page reloads itself (a <noscript> refresh) instead.
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status]");
  if (!box) {
    var waiting = document.querySelector("table.jobs progress");
    if (waiting) setTimeout(function () { location.reload(); }, 3000);
    return;
  }
  var bar = document.getElementById("job-progress");
  var percent = box.querySelector("[data-job-percent]");
  var state = box.querySelector("[data-job-state]");
  function poll() {
    fetch(box.getAttribute("data-job-status"), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (job) {
        if (bar) bar.value = job.percent;
        if (percent) percent.textContent = job.percent + "%";
        if (state) state.textContent = job.state;
        if (job.finished) location.reload();
        else setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 500);
})();
