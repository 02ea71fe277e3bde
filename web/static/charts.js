// A large survey's chart may still be being drawn when its page arrives: the image then says so (research/
// chart_preparing.svg, 400 x 110, answered with 202). Ask for the chart again every 2 s (its Retry-After) until it
// comes, at most 30 times. A chart is never that size, so a chart that came at once costs nothing more. Without
// script, the image asks the reader to reload the page.
(function () {
  "use strict";
  function again(url, tries) {
    var next = new URL(url, window.location.href);
    next.searchParams.set("retry", String(tries));
    return next.toString();
  }
  function watch(img) {
    var tries = 0;
    function check() {
      if (img.naturalWidth !== 400 || img.naturalHeight !== 110 || tries >= 30) { return; }
      tries += 1;
      window.setTimeout(function () {
        var picture = img.parentElement;
        if (picture && picture.tagName === "PICTURE") {
          picture.querySelectorAll("source").forEach(function (source) { source.srcset = again(source.srcset, tries); });
        }
        img.src = again(img.getAttribute("src"), tries);
      }, 2000);
    }
    img.addEventListener("load", check);
    if (img.complete) { check(); }
  }
  document.querySelectorAll("figure.chart img").forEach(watch);
}());
