/* Self-completion pages: show or hide questions as soon as an answer changes their relevance.
   A hidden question's fieldset is disabled, so its inputs are not sent; the server re-checks. */
(function () {
  "use strict";
  var form = document.getElementById("survey");
  if (!form || !window.KSExpr) return;
  var known = JSON.parse(form.getAttribute("data-known") || "{}");
  var ruled = Array.prototype.slice.call(form.querySelectorAll("[data-rel]")).map(function (el) {
    return { el: el, tree: JSON.parse(el.getAttribute("data-rel")), row: el.getAttribute("data-row") };
  });
  /* a repeat row's field reads that row's answers by their own names ("members.0.m_age" as "m_age") */
  function inRow(v, row) {
    var out = {}, k;
    for (k in v) out[k.indexOf(row) === 0 ? k.slice(row.length) : k] = v[k];
    return out;
  }
  function values() {
    var out = {}, k;
    for (k in known) out[k] = known[k];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.matches(":disabled") || el.type === "submit" || el.name === "csrf_token") return;
      if (el.type === "checkbox" && el.name.indexOf(".") < 0 && el.value !== "1") {
        if (!(el.name in out) || !Array.isArray(out[el.name])) out[el.name] = [];
        if (el.checked) out[el.name].push(el.value);
      } else if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) out[el.name] = el.value; else if (!(el.name in out)) out[el.name] = "";
      } else {
        out[el.name] = el.type === "number" && el.value !== "" ? Number(el.value) : el.value;
      }
    });
    return out;
  }
  function update() {
    var v = values();
    ruled.forEach(function (r) {
      var show = KSExpr.relevant(r.tree, r.row ? inRow(v, r.row) : v);
      r.el.hidden = !show;
      r.el.disabled = !show;
    });
  }
  /* a geopoint question's "Use my location" fills its text box from the phone's GPS */
  Array.prototype.forEach.call(form.querySelectorAll("[data-locate]"), function (b) {
    if (!navigator.geolocation) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (p) {
        document.getElementById(b.getAttribute("data-locate")).value =
          p.coords.latitude.toFixed(6) + " " + p.coords.longitude.toFixed(6) + " 0 " + Math.round(p.coords.accuracy);
      }, function () { /* typed by hand instead */ }, { enableHighAccuracy: true, timeout: 20000 });
    });
  });
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
