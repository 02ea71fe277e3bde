/* The page after a volunteer's logout locks the interview app's cached shell for them (see
   collect.js), whichever page they logged out from: the next person on this phone cannot open
   their interviews offline. Their interviews stay on the phone until they log in again. */
(function () {
  "use strict";
  var box = document.getElementById("signed-out-user");
  if (!box || !window.localStorage) return;
  var last = JSON.parse(localStorage.getItem("ks-collect-last") || "{}"), user = box.getAttribute("data-user");
  if (last.user_id && String(last.user_id) === user && last.login) {
    localStorage.setItem("ks-collect-out-" + user, String(Math.max(last.login, Number(localStorage.getItem("ks-collect-out-" + user) || 0))));
  }
})();
