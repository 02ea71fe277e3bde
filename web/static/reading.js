/* Reading help on survey pages. "Read aloud" buttons (hidden in the HTML) are shown only when the
   browser has a speech voice in the page's language, and read the question, its hint and its choices.
   The larger-text switch flips in place and keeps the choice in the "text" cookie; without
   JavaScript the same switch is a link (or a button that saves the page), so nothing is lost. */
(function () {
  "use strict";
  var lang = (document.documentElement.lang || "vi").toLowerCase();
  var synth = window.speechSynthesis;
  function voice() {
    if (!synth || !synth.getVoices) return null;
    var all = synth.getVoices() || [];
    for (var i = 0; i < all.length; i++) {
      if ((all[i].lang || "").toLowerCase().replace("_", "-").split("-")[0] === lang) return all[i];
    }
    return null;
  }
  function words(el) { return el ? el.textContent.replace(/\s+/g, " ").replace(/\s*\*\s*$/, "").trim() : ""; }
  function textOf(fieldset) {
    var parts = [words(fieldset.querySelector(":scope > legend")), words(fieldset.querySelector(":scope > .hint"))];
    Array.prototype.forEach.call(fieldset.querySelectorAll(":scope > label.choice, :scope > fieldset > legend"),
      function (l) { parts.push(words(l)); });
    return parts.filter(Boolean).join(". ");
  }
  function speak(fieldset) {
    var v = voice();
    if (!v) return;
    var u = new window.SpeechSynthesisUtterance(textOf(fieldset));
    u.lang = v.lang;
    try { u.voice = v; } catch (e) { /* the language alone picks a voice */ }
    synth.cancel();
    synth.speak(u);
  }
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button.speak"));
  function offer() {
    var has = !!voice();
    buttons.forEach(function (b) { b.hidden = !has; });
  }
  buttons.forEach(function (b) {
    b.addEventListener("click", function () { speak(b.closest("fieldset")); });
  });
  if (synth && buttons.length) {
    offer();
    if (synth.addEventListener) synth.addEventListener("voiceschanged", offer);
  }
  var toggle = document.querySelector("[data-text-toggle]");
  if (toggle) {
    toggle.addEventListener("click", function (e) {
      e.preventDefault();
      var large = !document.body.classList.contains("large-text");
      document.body.classList.toggle("large-text", large);
      document.cookie = "text=" + (large ? "large" : "normal") + "; path=/; max-age=31536000; samesite=lax";
      toggle.textContent = toggle.getAttribute(large ? "data-off" : "data-on");
      toggle.setAttribute("aria-pressed", large ? "true" : "false");
    });
  }
})();
