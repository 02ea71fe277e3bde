/* The area question: a province's communes come without reloading the page, and a search box narrows
   the list as the person types, ignoring case and diacritics ("dong da" finds "Đống Đa").
   Without this script the page works in two steps (province, then "Show its communes"). */
(function () {
  "use strict";
  function plain(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase();
  }
  function filter(select, find) {
    var wanted = plain(find.value.trim());
    Array.prototype.forEach.call(select.options, function (o) {
      if (!o.value) return;
      if (!o.hasAttribute("data-plain")) o.setAttribute("data-plain", plain(o.textContent));
      o.hidden = wanted !== "" && o.getAttribute("data-plain").indexOf(wanted) < 0;
    });
  }
  function fill(select, wards) {
    while (select.options.length > 1) select.remove(1);
    wards.forEach(function (w) { select.add(new Option(w[1], w[0])); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-area-find]"), function (find) {
    var name = find.getAttribute("data-area-find");
    var select = document.getElementById("i-" + name);
    find.hidden = false;
    find.addEventListener("input", function () { filter(select, find); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-area-province]"), function (pick) {
    var name = pick.getAttribute("data-area-province");
    var select = document.getElementById("i-" + name), box = document.querySelector("[data-area-wards='" + name + "']");
    var find = document.getElementById("i-" + name + "-find");
    var show = document.querySelector("[data-area-show='" + name + "']");
    if (show) show.hidden = true;
    pick.addEventListener("change", function () {
      if (!pick.value) { box.hidden = true; select.required = false; return; }
      fetch(pick.getAttribute("data-url").replace(/0\.json$/, pick.value + ".json"))
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) {
          fill(select, data.wards); find.value = ""; box.hidden = false; select.required = true; find.focus();
        })
        .catch(function () { if (show) show.hidden = false; });  /* offline: the two-step way still works */
    });
  });
})();
