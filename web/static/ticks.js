/* The submissions table's "select all on this page" ticks (or unticks) every row's box in place;
   without JavaScript the link reloads the page with every box ticked. */
(function () {
  "use strict";
  var form = document.getElementById("ticked");
  var link = form && form.querySelector("[data-tick]");
  if (!link) return;
  var boxes = form.querySelectorAll("input[name=ids]");
  link.addEventListener("click", function (event) {
    event.preventDefault();
    var tick = link.getAttribute("data-tick") === "all";
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = tick;
    link.setAttribute("data-tick", tick ? "none" : "all");
    link.textContent = link.getAttribute(tick ? "data-label-none" : "data-label-all");
  });
})();
