/* KhaoSat interview mode: renders a survey from its JSON, saves every answer in IndexedDB as it is
   given, queues finished interviews and sends them with retries and exponential backoff.

   Acknowledged means stored: an item leaves the queue only on a 201/200 that was not redirected and
   whose JSON body names the item's uuid (a Wi-Fi login page answering 200 text/html is not the
   server). Only the API's own 400, 413 and 422 are final (the item waits for a correction); 401
   waits for the same volunteer to log in again; 409 waits for the volunteer's decision (keep both,
   or discard); anything else is retried with backoff, its reason and last try shown.

   Local data belongs to one volunteer: each user has an IndexedDB database of their own, opened
   only by a shell the server rendered for them; after a logout the cached shell stays locked. */
(function () {
  "use strict";
  var root = document.getElementById("collect");
  if (!root || !window.indexedDB) return;
  var boot = JSON.parse(root.getAttribute("data-boot")), T = boot.t;
  var $ = function (id) { return document.getElementById(id); };
  var dbp, current = null, inst = null, sending = false, unsent = 0, drafts = 0, leaving = false, tokenMiss = 0, tokenWhy = "login";
  var DB = "khaosat-collect-u" + boot.user_id, OUT = "ks-collect-out-" + boot.user_id;
  var ZONE = "Asia/Ho_Chi_Minh";
  var whenFmt = new Intl.DateTimeFormat(T.dt_locale, { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  var timeFmt = new Intl.DateTimeFormat(T.dt_locale, { timeZone: ZONE, hour: "2-digit", minute: "2-digit" });
  var when = function (t) { return whenFmt.format(new Date(t)); };

  /* ---- whose shell is this: a shell cached before its volunteer logged out stays locked (logins
     are numbered by the server, so a shell from a later login opens again) ---- */
  function signedOut() {
    var out = Number(localStorage.getItem(OUT) || 0);
    if (out && boot.login > out) { localStorage.removeItem(OUT); out = 0; }
    if (!out) localStorage.setItem("ks-collect-last", JSON.stringify({ user_id: boot.user_id, login: boot.login }));
    return !!out;
  }
  if (signedOut()) {
    $("signed-out").textContent = T.signed_out; $("signed-out").hidden = false;
    $("home").hidden = true;
    return;
  }

  /* ---- IndexedDB, one database per volunteer: interviews (keyPath uuid), surveys ("slug:version"), kv ---- */
  function openDb(name) {
    return new Promise(function (ok, fail) {
      var r = indexedDB.open(name, 1);
      r.onupgradeneeded = function () {
        var d = r.result;
        d.createObjectStore("interviews", { keyPath: "uuid" });
        d.createObjectStore("surveys");
        d.createObjectStore("kv");
      };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    });
  }
  function open() {
    if (!dbp) dbp = openDb(DB).then(adoptLegacy);
    return dbp;
  }
  /* interviews kept by an older version of the app, in one database for everyone: this volunteer's
     queued ones (and unowned drafts) move into their own database, in one step each */
  function adoptLegacy(d) {
    if (!indexedDB.databases) return d;
    return indexedDB.databases().then(function (list) {
      if (!list.some(function (x) { return x.name === "khaosat-collect"; })) return d;
      return openDb("khaosat-collect").then(function (old) {
        return new Promise(function (ok) {
          var q = old.transaction("interviews").objectStore("interviews").getAll();
          q.onsuccess = function () { ok(q.result); };
          q.onerror = function () { ok([]); };
        }).then(function (items) {
          var mine = items.filter(function (i) { return i.body ? i.body.meta && i.body.meta.volunteer === boot.user : true; });
          return mine.reduce(function (p, i) {
            return p.then(function () { return rawTx(d, "interviews", "readwrite", function (s) { return s.put(i); }); })
              .then(function () { return rawTx(old, "interviews", "readwrite", function (s) { return s.delete(i.uuid); }); });
          }, Promise.resolve()).then(function () { old.close(); return d; });
        });
      });
    }).catch(function () { return d; });
  }
  function rawTx(d, store, mode, fn) {
    return new Promise(function (ok, fail) {
      var t = d.transaction(store, mode), s = t.objectStore(store), out = fn(s);
      t.oncomplete = function () { ok(out && "result" in out ? out.result : undefined); };
      t.onerror = t.onabort = function () { fail(t.error); };
    });
  }
  function tx(store, mode, fn) { return open().then(function (d) { return rawTx(d, store, mode, fn); }); }
  var get = function (st, k) { return tx(st, "readonly", function (s) { return s.get(k); }); };
  /* once a volunteer logs out keeping their work, only sealed copies are written: a send failing or a draft
     saved a moment later must not put back a readable copy of an interview the logout has just sealed */
  var sealing = false;
  var put = function (st, v, k) {
    if (sealing && st === "interviews" && !v.sealed) return Promise.resolve();
    return tx(st, "readwrite", function (s) { return k === undefined ? s.put(v) : s.put(v, k); });
  };
  var del = function (st, k) { return tx(st, "readwrite", function (s) { return s.delete(k); }); };
  var all = function (st) { return tx(st, "readonly", function (s) { return s.getAll(); }); };
  var keys = function (st) { return tx(st, "readonly", function (s) { return s.getAllKeys(); }); };

  function fill(text, o) { return text.replace(/\{(\w+)\}/g, function (_, k) { return o[k]; }); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag), k;
    for (k in attrs || {}) if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) e.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-4" + h.slice(13, 16) + "-a" + h.slice(17, 20) + "-" + h.slice(20, 32);
  }

  /* ---- surveys: fetched when online, kept in IndexedDB for offline use ---- */
  function storeSurveys() {
    return Promise.all(boot.surveys.map(function (s) {
      return fetch("/api/v1/surveys/" + s.slug, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok || r.redirected) throw new Error(r.status);
        return r.json();
      }).then(function (j) { return put("surveys", j, j.slug + ":" + j.version); });
    })).then(markSurveys, function (e) { markSurveys(); throw e; });
  }
  function survey(slug, version) { return get("surveys", slug + ":" + version); }
  /* on reconnect: the survey list and versions may have changed while the phone was away */
  function refreshSurveys() {
    return fetch(boot.surveys_url, { credentials: "same-origin" }).then(function (r) {
      var json = (r.headers.get("Content-Type") || "").indexOf("json") >= 0;
      if (!r.ok || r.redirected || !json) throw new Error(r.status);
      return r.json();
    }).then(function (j) {
      boot.surveys = j.surveys;
      var list = $("surveys");
      list.textContent = "";
      j.surveys.forEach(function (s) {
        var b = el("button", { type: "button", "data-slug": s.slug, "data-version": s.version }, s.title);
        b.addEventListener("click", function () { start(s.slug, s.version); });
        list.appendChild(el("li")).appendChild(b);
      });
      return storeSurveys();
    });
  }
  /* a survey not on the phone yet says so under its button */
  function markSurveys() {
    return Promise.all(Array.prototype.map.call(document.querySelectorAll("#surveys button"), function (b) {
      return survey(b.getAttribute("data-slug"), Number(b.getAttribute("data-version"))).then(function (s) {
        var li = b.parentNode, note = li.querySelector(".hint");
        if (s && note) li.removeChild(note);
        if (!s && !note) li.appendChild(el("p", { "class": "hint", id: "nf-" + b.getAttribute("data-slug") }, T.not_offline));
      });
    }));
  }

  /* ---- token for the submissions API (kept in this volunteer's database with the login that issued
     it; a new login gets a new token, and what waited for it is due at once) ---- */
  function token() {
    return get("kv", "token").then(function (t) {
      if (t && t.login === boot.login) return t.value;
      if (!navigator.onLine) { tokenWhy = "offline"; return null; }
      if (Date.now() - tokenMiss < 30000) return null;
      return fetch(boot.token_url, { method: "POST", credentials: "same-origin", headers: { "X-KhaoSat-Collect": "1" } })
        .then(function (r) {
          var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
          if (!r.ok || r.redirected || !json) {
            tokenMiss = Date.now();
            tokenWhy = json && !r.redirected && r.status === 401 ? "login" : r.status === 302 || r.redirected ? "login" : "portal";
            return null;
          }
          return r.json().then(function (j) {
            return put("kv", { value: j.token, login: boot.login }, "token").then(dueNow).then(function () { return j.token; });
          });
        }).catch(function () { tokenMiss = Date.now(); tokenWhy = "refused"; return null; });
    });
  }
  function dueNow() {
    return all("interviews").then(function (items) {
      return Promise.all(items.filter(function (i) { return i.status === "queued"; }).map(function (i) { i.next_try = 0; return put("interviews", i); }));
    });
  }

  /* ---- home screen ---- */
  function status(text) { $("net").textContent = text; }
  /* surveys covering several provinces: the province first, then its communes (narrowed by typing, case and
     diacritics ignored), from the area list the service worker keeps for offline use */
  function areaPicker() {
    var pick = $("province");
    if (!pick) return;
    var byProvince = {}, find = $("ward-find"), ward = $("ward");
    function bare(text) { return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase(); }
    function fill(keep) {
      var wanted = bare(find.value.trim());
      while (ward.options.length > 1) ward.remove(1);
      (byProvince[pick.value] || []).forEach(function (w) {
        if (!wanted || bare(w[1]).indexOf(wanted) >= 0) ward.add(new Option(w[1], w[0]));
      });
      ward.value = keep || "";
    }
    pick.addEventListener("change", function () { find.value = ""; fill(); });
    find.addEventListener("input", function () { fill(ward.value); });
    return fetch(boot.areas_url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (list) {
      list.provinces.forEach(function (p) { byProvince[p[0]] = p[2]; boot.wards = boot.wards.concat(p[2]); });
      return get("kv", "ward");
    }).then(function (kept) {
      var home = provinceOf(byProvince, kept);
      if (home) { pick.value = home; fill(kept); }
      refresh();
    }).catch(function () {});
  }
  function provinceOf(byProvince, code) {
    for (var p in byProvince) if (byProvince[p].some(function (w) { return String(w[0]) === String(code); })) return p;
    return null;
  }
  function wardName(code) {
    for (var i = 0; i < boot.wards.length; i++) if (String(boot.wards[i][0]) === String(code)) return boot.wards[i][1];
    return "";
  }
  /* the reason an item is still on the phone, in the volunteer's language */
  function reason(i) {
    var e = i.last_error, t = i.next_try ? timeFmt.format(new Date(i.next_try)) : "";
    if (i.status === "conflict") return T.r_conflict;
    if (i.status === "invalid") return T.r_invalid + " " + (i.messages || []).join(" ");
    if (!e) return "";
    return fill({ offline: T.r_offline, refused: T.r_refused, server: T.r_server, busy: T.r_busy, portal: T.r_portal,
      login: T.r_login }[e.code] || T.r_refused, { t: t, code: e.status });
  }
  function statusName(i) {
    if (i.last_error && i.last_error.code === "login" && i.status === "queued") return T.status_login;
    return T["status_" + i.status] || i.status;
  }
  function refresh() {
    return all("interviews").then(function (items) {
      var waiting = items.filter(function (i) { return i.status !== "draft" || i.sealed; });
      unsent = waiting.length;
      drafts = items.length - unsent;
      $("queue").textContent = fill(T.waiting, { n: unsent });
      document.title = (unsent ? fill(T.title_waiting, { n: unsent }) + " " : "") + document.title.replace(/^\(.*?\)\s*/, "");
      var last = waiting.reduce(function (m, i) { return Math.max(m, i.last_try || 0); }, 0);
      $("last").textContent = last ? fill(T.last_try, { t: when(last) }) : "";
      var list = $("drafts"), problems = $("problems");
      list.textContent = ""; problems.textContent = "";
      items.filter(function (i) { return i.status === "draft" && !i.sealed; }).forEach(function (i) {
        var b = el("button", { type: "button", "class": "secondary" }, T.resume + ": " + i.title + " (" + fill(T.started, { when: when(i.started_at) }) + ")");
        b.addEventListener("click", function () { resume(i); });
        list.appendChild(el("li")).appendChild(b);
      });
      if (!list.children.length) list.appendChild(el("li", {}, T.nodraft));
      waiting.filter(function (i) { return i.status !== "queued" || i.last_error; }).forEach(function (i) { problems.appendChild(problem(i)); });
    });
  }
  /* one item that has not gone: what, where, when, and what is wrong */
  function problem(i) {
    if (i.sealed) return el("li", { "class": "problem", "data-uuid": i.uuid, "data-status": "sealed" }, T.sealed);
    var li = el("li", { "class": i.status === "queued" ? "problem" : "problem error", "data-uuid": i.uuid, "data-status": i.status });
    li.appendChild(el("strong", {}, i.title + " · " + wardName(i.ward)));
    li.appendChild(el("span", { "class": "hint" }, " " + fill(T.started, { when: when(i.started_at) }) + " · " + statusName(i)));
    li.appendChild(el("p", { "class": "reason" }, reason(i)));
    if (i.last_try) li.appendChild(el("p", { "class": "hint" }, fill(T.last_try, { t: when(i.last_try) })));
    if (i.status === "invalid" && i.kind !== "visit") {
      var b = el("button", { type: "button", "class": "link" }, T.fix);
      b.addEventListener("click", function () { i.status = "draft"; put("interviews", i).then(function () { resume(i); }); });
      li.appendChild(b);
    }
    if (i.status === "invalid" && i.kind === "visit") {  /* a visit the server refused cannot be corrected: only removed */
      var gone = el("button", { type: "button", "class": "link discard" }, T.discard);
      gone.addEventListener("click", function () { if (window.confirm(H.discard_visit)) del("interviews", i.uuid).then(refresh); });
      li.appendChild(gone);
    }
    if (i.status === "conflict") {
      var keep = el("button", { type: "button", "class": "secondary keep" }, T.keep_both), drop = el("button", { type: "button", "class": "link discard" }, T.discard);
      keep.addEventListener("click", function () { keepBoth(i); });
      drop.addEventListener("click", function () { if (window.confirm(T.discard_confirm)) del("interviews", i.uuid).then(refresh); });
      li.appendChild(keep); li.appendChild(drop);
    }
    return li;
  }
  /* after a 409: the same interview goes again under a new uuid that names the first, in one step */
  function keepBoth(i) {
    var copy = JSON.parse(JSON.stringify(i)), fresh = uuid();
    copy.body.conflict_of = i.body.conflict_of || i.uuid;
    copy.uuid = copy.body.uuid = fresh;
    copy.status = "queued"; copy.attempts = 0; copy.next_try = 0; copy.last_error = null;
    return tx("interviews", "readwrite", function (s) { s.put(copy); return s.delete(i.uuid); }).then(function () {
      status(T.kept_both);
      return refresh();
    }).then(send);
  }
  function progress() {
    if (!navigator.onLine) return;
    fetch("/collect/progress", { credentials: "same-origin" }).then(function (r) { return r.ok && !r.redirected ? r.json() : null; }).then(function (j) {
      if (!j) return;
      var body = $("progress").tBodies[0];
      body.textContent = "";
      j.today.forEach(function (row) {
        var tr = body.insertRow();
        tr.appendChild(el("td", {}, row.name));
        tr.appendChild(el("td", { "class": "num" }, String(row.count)));
      });
    }).catch(function () {});
  }

  /* ---- sampled households: the list kept on the phone, each visit's outcome queued like an interview,
     and the adult to interview chosen on the doorstep by the household's rule (adults.js, the server's
     rule in JavaScript); names stay on the phone, the server gets sex, age and birthday only ---- */
  var H = boot.h, here = null, acked = 0;
  var dayParts = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" });
  var pct = new Intl.NumberFormat(T.dt_locale, { style: "percent", maximumFractionDigits: 1 });
  var decimals = new Intl.NumberFormat(T.dt_locale, { maximumFractionDigits: 4 });
  function localDay(d) {
    var p = {};
    dayParts.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    return p.year + "-" + p.month + "-" + p.day;
  }
  function fetchHouseholds() {
    if (!navigator.onLine) return Promise.resolve();
    return fetch(boot.households_url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok || r.redirected || !isJson(r)) throw new Error(r.status);
      return r.json();
    }).then(function (j) { return put("kv", j.households, "households"); }).then(showHouseholds).catch(function () {});
  }
  function local(id) { return get("kv", "hh:" + id).then(function (v) { return v || { adults: [], visits: [], chosen: null }; }); }
  function noteVisit(id, visit) {
    return local(id).then(function (mine) { mine.visits.push(visit); return put("kv", mine, "hh:" + id); });
  }
  /* the server's count plus the visits this phone made that the server has not listed yet */
  function merged(h, mine) {
    var received = h.received || [], extra = mine.visits.filter(function (v) { return received.indexOf(v.uuid) < 0; });
    var last = extra.length ? extra[extra.length - 1] : null;
    return { visits: h.visits + extra.length, code: last ? last.code : h.final || h.last_code,
      callback: last ? last.callback_at : h.callback_at };
  }
  function facts(h, m) {
    var parts = [h.group, wardName(h.ward), fill(H.visits, { n: m.visits })];
    if (m.code) parts.push(fill(H.outcome, { o: boot.outcomes[m.code] || m.code }));
    if (m.callback) parts.push(fill(H.callback, { t: when(m.callback) }));
    return parts.join(" · ");
  }
  function showHouseholds() {
    return get("kv", "households").then(function (list) {
      if (!list) return;  /* never fetched yet: the list the server rendered stays */
      return Promise.all(list.map(function (h) { return local(h.id); })).then(function (mine) {
        var ol = $("households");
        ol.textContent = "";
        list.forEach(function (h, n) {
          var li = el("li", { "data-id": h.id }), b = el("button", { type: "button", "class": "secondary household" });
          b.appendChild(el("strong", {}, h.address));
          b.addEventListener("click", function () { openHousehold(h); });
          li.appendChild(b);
          li.appendChild(el("small", { "class": "facts" }, facts(h, merged(h, mine[n]))));
          ol.appendChild(li);
        });
        if ($("no-households")) $("no-households").hidden = list.length > 0;
      });
    });
  }
  function hhError(text, focus) {
    $("hh-error").textContent = text; $("hh-error").hidden = !text;
    if (text && focus) focus.focus();
  }
  function openHousehold(h) {
    return local(h.id).then(function (mine) {
      here = h; here.mine = mine;
      $("home").hidden = true; $("household").hidden = false;
      $("hh-address").textContent = h.address;
      $("hh-facts").textContent = facts(h, merged(h, mine));
      hhError("");
      $("hh-adults").hidden = true; $("hh-visit").hidden = true; $("hh-chosen").hidden = true; $("hh-actions").hidden = false;
      if (mine.chosen) showChosen();
      window.scrollTo(0, 0);
      $("hh-address").focus();
    });
  }
  /* ---- the adults of the household ---- */
  function field(box, label, input) {
    var p = el("p");
    p.appendChild(el("label", { "for": input.id }, label)); p.appendChild(el("br")); p.appendChild(input);
    box.appendChild(p);
    return input;
  }
  function options(select, first, n, chosen) {
    select.appendChild(el("option", { value: "" }, first));
    for (var i = 1; i <= n; i++) {
      var v = (i < 10 ? "0" : "") + i, o = el("option", { value: v }, String(i));
      o.selected = v === chosen; select.appendChild(o);
    }
  }
  function personRow(p, n) {
    var li = el("li", { "class": "person" }), fs = el("fieldset"), id = "hh-p" + n, sex;
    fs.appendChild(el("legend", {}, fill(H.adult_n, { n: n + 1 })));
    field(fs, H.name, el("input", { id: id + "-name", "data-f": "name", type: "text", maxlength: 40, autocomplete: "off" })).value = p.name || "";
    sex = field(fs, H.sex, el("select", { id: id + "-sex", "data-f": "sex" }));
    [["", T.choose], ["1", H.male], ["2", H.female]].forEach(function (o) { var x = el("option", { value: o[0] }, o[1]); x.selected = p.sex === o[0]; sex.appendChild(x); });
    field(fs, H.age, el("input", { id: id + "-age", "data-f": "age", type: "number", inputmode: "numeric", min: 0, max: 130, step: 1 })).value = p.age === undefined ? "" : p.age;
    if (here.rule === "last_birthday") {
      var bd = el("p", { "class": "birthday" }), day = el("select", { id: id + "-day", "data-f": "day", "aria-label": H.birthday + ": " + H.day }),
        month = el("select", { id: id + "-month", "data-f": "month", "aria-label": H.birthday + ": " + H.month });
      options(day, H.day, 31, (p.birthday || "").slice(3)); options(month, H.month, 12, (p.birthday || "").slice(0, 2));
      bd.appendChild(el("span", {}, H.birthday)); bd.appendChild(el("br")); bd.appendChild(day); bd.appendChild(document.createTextNode(" ")); bd.appendChild(month);
      fs.appendChild(bd);
    }
    var rm = el("button", { type: "button", "class": "link" }, H.remove);
    rm.addEventListener("click", function () { readPeople(); here.mine.adults.splice(n, 1); saveAdults().then(renderPeople); });
    fs.appendChild(rm);
    li.appendChild(fs);
    return li;
  }
  function renderPeople() {
    var ol = $("hh-people");
    if (!here.mine.adults.length) here.mine.adults.push({});
    ol.textContent = "";
    here.mine.adults.forEach(function (p, n) { ol.appendChild(personRow(p, n)); });
  }
  function readPeople() {
    here.mine.adults = Array.prototype.map.call($("hh-people").querySelectorAll("li.person"), function (li) {
      var v = function (f) { var e = li.querySelector("[data-f='" + f + "']"); return e ? e.value.trim() : ""; };
      var p = { name: v("name"), sex: v("sex") };
      if (v("age") !== "") p.age = Number(v("age"));
      if (v("day") && v("month")) p.birthday = v("month") + "-" + v("day");
      return p;
    });
    return here.mine.adults;
  }
  function saveAdults() {
    here.mine.chosen = null;  /* a changed list needs a new choice */
    return put("kv", here.mine, "hh:" + here.id);
  }
  function birthdayOk(b) { try { KSAdults.daysSinceBirthday(b, "2000-12-31"); return true; } catch (e) { return false; } }
  /* the first problem of the list, and the input to correct */
  function listProblem(people) {
    var rows = $("hh-people").querySelectorAll("li.person");
    for (var n = 0; n < people.length; n++) {
      var p = people[n], at = function (f) { return rows[n].querySelector("[data-f='" + f + "']"); };
      if (!p.name) return [H.need_name, at("name")];
      if (!p.sex) return [H.need_sex, at("sex")];
      if (!(p.age >= H.min_age && p.age <= 130 && p.age % 1 === 0)) return [H.need_age, at("age")];
      if (here.rule === "last_birthday" && !(p.birthday && birthdayOk(p.birthday))) return [H.need_birthday, at("day")];
    }
    return people.length ? null : [H.need_adult, $("hh-add")];
  }
  function ruleView(h, p) {
    var o = { sex: p.sex, age: p.age };
    if (h.rule === "last_birthday") o.birthday = p.birthday;
    return o;
  }
  function chooseAdult() {
    var people = readPeople(), problem = listProblem(people);
    if (problem) { hhError(problem[0], problem[1]); return; }
    hhError("");
    var on = localDay(new Date()), h = here;
    var picked = KSAdults.choose(people.map(function (p) { return ruleView(h, p); }), h.rule, h.adult_draw, on, h.older_factor);
    h.mine.chosen = { index: picked[0], probability: picked[1], on: on, rule: h.rule };
    return put("kv", h.mine, "hh:" + h.id).then(showChosen);
  }
  function chance(p, k) {
    return (Math.abs(p * k - 1) < 1e-9 ? "1/" + k + " = " : "") + pct.format(p);
  }
  /* a listed adult as the door showed them: the first name, or (once names are forgotten) place, sex and age */
  function personName(p, n) { return p.name || [n + 1, p.sex === "1" ? H.male : H.female, p.age].join(" · "); }
  function showChosen() {
    var c = here.mine.chosen, person = here.mine.adults[c.index], k = here.mine.adults.length;
    $("hh-who").textContent = fill(H.chosen, { name: personName(person, c.index) });
    $("hh-why").textContent = fill(c.rule === "kish" ? H.chosen_kish : H.chosen_birthday,
      { draw: decimals.format(here.adult_draw), k: k, p: chance(c.probability, k) });
    $("hh-start").textContent = fill(H.start_with, { name: personName(person, c.index) });
    $("hh-adults").hidden = true; $("hh-chosen").hidden = false;
    $("hh-who").parentNode.setAttribute("tabindex", "-1"); $("hh-who").parentNode.focus();
  }
  function showAdults() {
    hhError("");
    $("hh-chosen").hidden = true; $("hh-visit").hidden = true; $("hh-adults").hidden = false;
    renderPeople();
    $("hh-people").querySelector("input").focus();
  }
  function startHousehold() {
    var h = here, c = h.mine.chosen, s = boot.surveys.filter(function (x) { return x.slug === h.survey; })[0];
    if (!s) { hhError(H.no_survey); return; }
    start(s.slug, s.version, { ward: h.ward, address: h.address, household: { id: h.id, on: c.on, selected: c.index,
      probability: c.probability, adults: h.mine.adults.map(function (p) { return ruleView(h, p); }) } });
  }
  /* ---- a visit without an interview: its AAPOR outcome, the time, a callback ---- */
  function showVisitForm() {
    hhError("");
    $("hh-actions").hidden = true; $("hh-adults").hidden = true; $("hh-visit").hidden = false;
    $("hh-visit").reset();
    $("hh-visit").querySelector("input[name=code]").focus();
  }
  function saveVisit() {
    var checked = $("hh-visit").querySelector("input[name=code]:checked"), h = here;
    if (!checked) { hhError(H.need_outcome, $("hh-visit").querySelector("input[name=code]")); return; }
    var at = new Date().toISOString(), id = uuid(), cb = $("hh-callback").value;
    var body = { uuid: id, household: h.id, code: checked.value, visited_at: at,
      callback_at: cb ? cb + ":00+07:00" : null, note: $("hh-note").value.trim() };  /* Hà Nội time, no summer time */
    var item = { uuid: id, kind: "visit", household: h.id, ward: h.ward, status: "queued", started_at: at, body: body,
      title: fill(H.visit_title, { code: checked.value }) + " · " + h.address, attempts: 0, next_try: 0 };
    return put("interviews", item).then(function () {
      return noteVisit(h.id, { uuid: id, code: body.code, at: at, callback_at: body.callback_at });
    }).then(function () { status(H.visit_saved); return home(); }).then(send);
  }

  /* ---- an interview (from a household: in its ward, with the adult chosen) ---- */
  function start(slug, version, from) {
    var ward = from ? String(from.ward) : $("ward").value;
    if (!ward) { status(T.pick_ward); $("ward").focus(); return; }
    survey(slug, version).then(function (s) {
      if (!s) { status(T.not_offline); if (from) hhError(H.no_survey); markSurveys(); return; }
      var answers = {};
      s.pages.forEach(function (p) { p.questions.forEach(function (q) { if (traits(q).ward) answers[q.name] = Number(ward); }); });
      var item = { uuid: uuid(), survey: slug, version: s.version, title: s.title[boot.lang] || s.title[s.default_language],
        ward: Number(ward), area_codes: s.area_codes, lang: boot.lang, answers: answers, page: -1, status: "draft", started_at: new Date().toISOString() };
      if (from) { item.household = from.household; item.title += " · " + from.address; }
      put("interviews", item).then(function () { resume(item); });
    });
  }
  function resume(item) {
    survey(item.survey, item.version).then(function (s) {
      current = item; inst = s;
      $("home").hidden = true; $("household").hidden = true; $("interview").hidden = false;
      $("gps-consent").checked = !!item.gps_consent;
      $("gps-status").textContent = item.gps ? fill(T.gps_ok, { m: Math.round(item.gps.accuracy_m) }) : "";
      if (item.gps_consent && !item.gps) locate(item);
      show(item.page < 0 ? step(-1, 1) : item.page);
    });
  }

  /* ---- location: asked only with the respondent's consent, best effort, never holding up the interview ---- */
  function gpsNote(item, text) { if (current === item) $("gps-status").textContent = text; }
  function locate(item) {
    if (!navigator.geolocation) return gpsNote(item, T.gps_fail);
    gpsNote(item, T.gps_wait);
    navigator.geolocation.getCurrentPosition(function (p) {
      var c = p.coords;
      if (!item.gps_consent || item.status !== "draft") return;
      if (!isFinite(c.latitude) || !isFinite(c.longitude) || !(c.accuracy >= 0 && c.accuracy <= 100000)) return gpsNote(item, T.gps_fail);
      item.gps = { lat: c.latitude, lon: c.longitude, accuracy_m: Math.round(c.accuracy * 10) / 10 };
      put("interviews", item);
      gpsNote(item, fill(T.gps_ok, { m: Math.round(item.gps.accuracy_m) }));
    }, function () { gpsNote(item, T.gps_fail); }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 120000 });
  }
  function txt(t) { return !t ? "" : t[current.lang] || t[inst.default_language] || ""; }
  function relevant(rule, values) { return !rule || KSExpr.relevant(rule.tree, values); }
  function shown(i) {
    var p = inst.pages[i];
    return relevant(p.relevant, current.answers) && p.questions.some(function (q) { return q.type !== "calculate"; });
  }
  function step(from, dir) {
    for (var i = from + dir; i >= 0 && i < inst.pages.length; i += dir) if (shown(i)) return i;
    return null;
  }
  function choiceInputs(box, name, q, value, multiple) {
    q.choices.forEach(function (c) {
      var lab = el("label", { "class": "choice" }), input = el("input", { type: multiple ? "checkbox" : "radio", name: name, value: c.code });
      input.checked = multiple ? (value || []).indexOf(c.code) >= 0 : value !== undefined && String(value) === c.code;
      lab.appendChild(input); lab.appendChild(document.createTextNode(" " + txt(c.label)));
      box.appendChild(lab);
    });
  }
  /* one widget per question type (surveys/questions/<type>.py); a widget fills box and returns nothing */
  function labelled(box, name, q, f) {
    box.appendChild(el("label", { "for": f.id, "class": "sr-only" }, txt(q.label)));
    box.appendChild(f);
  }
  function inputWidget(type, attrs) {
    return function (box, name, q, value) {
      var a = { id: "i-" + name.replace(/\./g, "-"), name: name, type: type }, k, f;
      for (k in attrs || {}) a[k] = typeof attrs[k] === "function" ? attrs[k](q) : attrs[k];
      f = el("input", a); f.value = value === undefined || value === null ? "" : value;
      labelled(box, name, q, f);
    };
  }
  function choiceWidget(multiple) {
    return function (box, name, q, value) { choiceInputs(box, name, q, value, multiple(q)); };
  }
  function no() { return false; }
  function minimum(q) { return q.minimum; }
  function maximum(q) { return q.maximum; }
  var WIDGETS = {
    single: choiceWidget(no), yesno: choiceWidget(no), likert: choiceWidget(no),
    multiple: choiceWidget(function () { return true; }),
    knowledge: choiceWidget(function (q) { return !!q.multiple; }),
    integer: inputWidget("number", { step: "1", inputmode: "numeric", min: minimum, max: maximum }),
    decimal: inputWidget("number", { step: "any", inputmode: "decimal", min: minimum, max: maximum }),
    date: inputWidget("date"), time: inputWidget("time"), dateTime: inputWidget("datetime-local"),
    phone: inputWidget("tel", { inputmode: "tel", autocomplete: "tel", maxlength: 20 }),
    email: inputWidget("email", { autocomplete: "email", maxlength: 254 }),
    geopoint: function (box, name, q, value) {
      var id = "i-" + name.replace(/\./g, "-"), f = el("input", { id: id, name: name, type: "text", inputmode: "decimal", maxlength: 80 }),
        b = el("button", { type: "button", "class": "secondary" }, T.use_location),
        lab = el("label", { "class": "choice" }), c = el("input", { type: "checkbox", name: name + ".consent", value: "1" });
      f.value = value && value.point ? value.point : "";
      c.checked = !!(value && value.consent);
      b.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (p) {
          f.value = p.coords.latitude.toFixed(6) + " " + p.coords.longitude.toFixed(6) + " 0 " + Math.round(p.coords.accuracy);
        }, function () { /* typed by hand instead */ }, { enableHighAccuracy: true, timeout: 20000 });
      });
      labelled(box, name, q, f);
      box.appendChild(b);
      lab.appendChild(c); lab.appendChild(document.createTextNode(" " + T.location_consent)); box.appendChild(lab);
    },
    consent: function (box, name, q, value) {
      var lab = el("label", { "class": "choice" }), c = el("input", { type: "checkbox", name: name, value: "1" });
      c.checked = value === "1"; lab.appendChild(c); lab.appendChild(document.createTextNode(" " + T.agree));
      box.appendChild(lab);
    },
    area: function (box, name, q, value) {
      var f = el("select", { id: "i-" + name.replace(/\./g, "-"), name: name });
      f.appendChild(el("option", { value: "" }, T.choose));
      boot.wards.forEach(function (w) { var o = el("option", { value: w[0] }, w[1]); o.selected = String(value) === String(w[0]); f.appendChild(o); });
      labelled(box, name, q, f);
    },
    text: function (box, name, q, value) {
      var f = el("textarea", { id: "i-" + name.replace(/\./g, "-"), name: name, maxlength: 2000 }); f.value = value || "";
      labelled(box, name, q, f);
    }
  };
  /* types whose answer is read from more than one input */
  var READERS = {
    geopoint: function (form, name) {
      var point = form.querySelector("[name='" + name + "']").value, c = form.querySelector("[name='" + name + ".consent']");
      return point ? { point: point, consent: c && c.checked ? "1" : "" } : undefined;
    }
  };
  /* types whose answer is read back as a number */
  /* how an answer is read and checked, as the survey's JSON says from the question type's traits (number: "whole",
     "decimal" or null; many: several codes; ward: a ward code); a survey stored on the phone before those fields
     came has none of them, and its questions are read as they were then, by type name */
  function traits(q) {
    if ("many" in q) return q;
    return { number: q.type === "integer" ? "whole" : q.type === "decimal" ? "decimal" : null,
      many: q.type === "multiple" || (q.type === "knowledge" && !!q.multiple), ward: q.type === "area" };
  }
  function input(box, name, q, value) { (WIDGETS[q.type] || WIDGETS.text)(box, name, q, value); }
  function fieldset(q, name) {
    var fs = el("fieldset", { id: "q-" + name, "data-q": name });
    fs.appendChild(el("legend", {}, txt(q.label) + (q.required ? " *" : "")));
    if (q.hint) fs.appendChild(el("p", { "class": "hint" }, txt(q.hint)));
    return fs;
  }
  function show(index) {
    current.page = index;
    put("interviews", current);
    var page = inst.pages[index], form = $("iform"), total = 0, pos = 0, i;
    for (i = 0; i < inst.pages.length; i++) if (shown(i)) { total++; if (i === index) pos = total; }
    $("ppos").textContent = fill(T.page, { n: pos, total: total });
    $("ptitle").textContent = txt(page.title);
    $("perr").hidden = true;
    $("back").hidden = step(index, -1) === null;
    $("gpsbox").hidden = !$("back").hidden;  /* consent is asked on the first page */
    $("next").textContent = step(index, 1) === null ? T.finish : T.next;
    form.textContent = "";
    form.setAttribute("lang", current.lang);
    page.questions.forEach(function (q) {
      if (q.type === "calculate") return;
      if (q.type === "note") { form.appendChild(el("p", { "data-q": q.name }, txt(q.label))); return; }
      var fs = fieldset(q, q.name);
      if (q.type === "grid") {
        q.items.forEach(function (it) {
          var sub = el("fieldset", { "class": "item", id: "q-" + it.name });
          sub.appendChild(el("legend", {}, txt(it.label)));
          choiceInputs(sub, it.name, q, current.answers[it.name], false);
          fs.appendChild(sub);
        });
      } else if (q.type === "repeat") {
        var rows = current.answers[q.name] || [], n = Math.max(rows.length, q.min_rows || 0, 1);
        for (var r = 0; r < n; r++) {
          var row = el("fieldset", { "class": "row" });
          row.appendChild(el("legend", {}, fill(T.row, { n: r + 1 })));
          q.questions.forEach(function (f) {
            if (f.type === "calculate" || f.type === "note") return;
            var sub = fieldset(f, q.name + "." + r + "." + f.name);
            input(sub, q.name + "." + r + "." + f.name, f, (rows[r] || {})[f.name]);
            row.appendChild(sub);
          });
          fs.appendChild(row);
        }
        var add = el("button", { type: "button", "class": "secondary" }, T.add_row);
        add.addEventListener("click", function () { rows.push({}); current.answers[q.name] = rows; show(index); });
        fs.appendChild(add);
      } else {
        input(fs, q.name, q, current.answers[q.name]);
      }
      form.appendChild(fs);
    });
    var langs = $("ilangs");
    langs.textContent = "";
    inst.languages.forEach(function (code) {
      if (code === current.lang) return;
      var b = el("button", { type: "button", "class": "link", lang: code, "data-lang": code }, boot.language_names[code] || code);
      b.addEventListener("click", function () { current.lang = code; show(index); });
      langs.appendChild(b);
    });
    toggle();
    $("ptitle").focus();
  }
  /* read the page's inputs into current.answers and save at once */
  function read() {
    var page = inst.pages[current.page], form = $("iform");
    page.questions.forEach(function (q) {
      if (q.type === "repeat") {
        var rows = [];
        Array.prototype.forEach.call(form.querySelectorAll("[name^='" + q.name + ".']"), function (e) {
          var parts = e.name.split("."), r = Number(parts[1]), f = parts[2];
          rows[r] = rows[r] || {};
          if (e.type === "checkbox") { rows[r][f] = rows[r][f] || []; if (e.checked) rows[r][f].push(e.value); }
          else if (e.type === "radio") { if (e.checked) rows[r][f] = e.value; }
          else if (e.value !== "") rows[r][f] = e.value;
        });
        current.answers[q.name] = rows.filter(Boolean);
        return;
      }
      var names = q.type === "grid" ? q.items.map(function (i) { return i.name; }) : [q.name];
      names.forEach(function (name) {
        var els = form.querySelectorAll("[name='" + name + "']");
        if (!els.length) return;
        var t = traits(q), multi = t.many, v;
        if (READERS[q.type]) v = READERS[q.type](form, name);
        else if (multi) v = Array.prototype.filter.call(els, function (e) { return e.checked; }).map(function (e) { return e.value; });
        else if (els[0].type === "radio" || els[0].type === "checkbox") {
          var hit = Array.prototype.filter.call(els, function (e) { return e.checked; })[0];
          v = hit ? hit.value : undefined;
        } else v = els[0].value === "" ? undefined : (t.number || t.ward ? Number(els[0].value) : els[0].value);
        if (v === undefined || (multi && !v.length)) delete current.answers[name]; else current.answers[name] = v;
      });
    });
    return put("interviews", current);
  }
  function toggle() {
    inst.pages[current.page].questions.forEach(function (q) {
      [q].concat(q.type === "grid" ? q.items : []).forEach(function (x) {
        var fs = $("q-" + x.name);
        if (fs && x.relevant) { var on = relevant(x.relevant, current.answers); fs.hidden = !on; fs.disabled = !on; }
      });
    });
  }
  function errorFor(q, v) {
    var blank = v === undefined || v === "" || (Array.isArray(v) && !v.length);
    if (blank) return q.required ? T.required : null;
    var number = traits(q).number;
    if (number) {
      if (typeof v !== "number" || isNaN(v)) return T.number;
      if (number === "whole" && v % 1 !== 0) return T.integer;
      if (q.minimum !== null && q.minimum !== undefined && v < q.minimum) return fill(T.min, { x: q.minimum });
      if (q.maximum !== null && q.maximum !== undefined && v > q.maximum) return fill(T.max, { x: q.maximum });
    }
    if (q.constraint) { try { if (!KSExpr.bool(KSExpr.evaluate(q.constraint.tree, current.answers, v))) return txt(q.constraint_message) || T.constraint; } catch (e) { /* server decides */ } }
    return null;
  }
  function validate() {
    var first = null;
    Array.prototype.forEach.call($("iform").querySelectorAll("p.error"), function (p) { p.parentNode.removeChild(p); });
    inst.pages[current.page].questions.forEach(function (q) {
      if (q.type === "calculate" || q.type === "note" || q.type === "repeat" || !relevant(q.relevant, current.answers)) return;
      (q.type === "grid" ? q.items.map(function (i) { return { name: i.name, type: "likert", required: q.required, relevant: i.relevant }; }) : [q]).forEach(function (x) {
        if (!relevant(x.relevant, current.answers)) return;
        var msg = errorFor(x, current.answers[x.name]);
        if (!msg) return;
        var fs = $("q-" + x.name), p = el("p", { "class": "error", id: "e-" + x.name }, msg);
        fs.insertBefore(p, fs.querySelector("legend").nextSibling);
        fs.setAttribute("aria-describedby", "e-" + x.name);
        if (!first) first = fs;
      });
    });
    if (first) {
      $("perr").textContent = T.check; $("perr").hidden = false;
      var target = first.querySelector("input,select,textarea");
      if (target) target.focus();
    }
    return !first;
  }
  function relevantAnswers() {
    var out = {}, a = current.answers;
    inst.pages.forEach(function (p) {
      if (!relevant(p.relevant, a)) return;
      p.questions.forEach(function (q) {
        if (!relevant(q.relevant, a)) return;
        (q.type === "grid" ? q.items : [q]).forEach(function (x) { if (a[x.name] !== undefined && relevant(x.relevant, a)) out[x.name] = a[x.name]; });
      });
    });
    return out;
  }
  function finish() {
    var end = new Date();
    current.status = "queued";
    current.body = { uuid: current.uuid, survey: current.survey, version: current.version, answers: relevantAnswers(),
      area_codes: current.area_codes,  // the ward list the ward was picked from; the server refuses an old one
      meta: { started_at: current.started_at, ended_at: end.toISOString(), duration_s: Math.round((end - new Date(current.started_at)) / 1000),
        channel: "interview", language: current.lang, volunteer: boot.user, app_version: boot.version,
        gps_consent: !!current.gps_consent } };
    if (current.gps_consent && current.gps) current.body.meta.gps = current.gps;
    if (current.household) current.body.household = current.household;
    current.attempts = 0; current.next_try = 0;
    var done = current;
    return put("interviews", done).then(function () {
      if (!done.household) return;
      return noteVisit(done.household.id, { uuid: done.uuid, code: "1.1", at: end.toISOString(), callback_at: null })
        .then(function () { return forgetNames(done.household.id); });
    }).then(home).then(send);
  }
  /* the first names listed at a door are for the volunteer on the doorstep only: they go once the household's
     interview is made, and every one at logout (sex, age and birthday stay, so the list and its choice still
     read the same) */
  function forgetNames(only) {
    return keys("kv").then(function (ks) {
      return ks.filter(function (k) { return only === undefined ? String(k).indexOf("hh:") === 0 : k === "hh:" + only; })
        .reduce(function (p, k) {
          return p.then(function () { return get("kv", k); }).then(function (mine) {
            if (!mine || !mine.adults || !mine.adults.some(function (a) { return a.name; })) return;
            mine.adults = mine.adults.map(function (a) { var kept = Object.assign({}, a); delete kept.name; return kept; });
            return put("kv", mine, k);
          });
        }, Promise.resolve());
    });
  }
  function home() {
    current = null; inst = null; here = null;
    $("interview").hidden = true; $("household").hidden = true; $("home").hidden = false;
    return refresh().then(showHouseholds);
  }

  /* ---- the queue ---- */
  function retryLater(item, code, httpStatus) {
    item.attempts = (item.attempts || 0) + 1;
    var delay = Math.min(300000, 2000 * Math.pow(2, item.attempts));
    item.next_try = Date.now() + delay * (0.5 + Math.random() / 2);
    item.last_error = { code: code, status: httpStatus || null };
    return put("interviews", item);
  }
  function isJson(r) { return (r.headers.get("Content-Type") || "").indexOf("application/json") === 0; }
  function stored(r, item) {
    if ((r.status !== 201 && r.status !== 200) || r.redirected || r.type !== "basic" || !isJson(r)) return Promise.resolve(false);
    return r.json().then(function (j) { return !!j && j.uuid === item.uuid; }, function () { return false; });
  }
  function sendOne(item, tok) {
    item.last_try = Date.now();
    return fetch(item.kind === "visit" ? "/api/v1/visits" : "/api/v1/submissions", { method: "POST", credentials: "omit", redirect: "follow",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "Authorization": "Bearer " + tok },
      body: JSON.stringify(item.body) })
      .then(function (r) {
        return stored(r.clone(), item).then(function (ok) {
          if (ok) { acked++; return del("interviews", item.uuid); }
          var ours = isJson(r) && !r.redirected;
          if (!ours || r.status === 200 || r.status === 201 || r.status === 511) return retryLater(item, "portal", r.status);
          if (r.status === 409) { item.status = "conflict"; item.last_error = { code: "conflict", status: 409 }; return put("interviews", item); }
          if (r.status === 401) {
            item.last_error = { code: "login", status: 401 }; item.next_try = 0;
            return del("kv", "token").then(function () { return put("interviews", item); });
          }
          if (r.status === 400 || r.status === 413 || r.status === 422) {
            item.status = "invalid"; item.last_error = { code: "invalid", status: r.status };
            return r.json().catch(function () { return {}; }).then(function (j) {
              var errs = j.errors || (j.error ? { _: j.error } : {});
              item.messages = Object.keys(errs).map(function (k) {
                var e = errs[k], text = typeof e === "string" ? e : (e[boot.lang] || e.vi || "");
                return text + (k === "_" ? "" : " (" + k + ")");
              });
              return put("interviews", item);
            });
          }
          return retryLater(item, r.status === 429 || r.status === 503 ? "busy" : "server", r.status);
        });
      }, function () { return retryLater(item, navigator.onLine ? "refused" : "offline"); });
  }
  function sendQueued() {
    return all("interviews").then(function (items) {
      /* oldest first: a household's visits reach the server in the order they were made */
      var due = items.filter(function (i) { return i.status === "queued" && (i.next_try || 0) <= Date.now(); })
        .sort(function (a, b) { return String(a.started_at || "") < String(b.started_at || "") ? -1 : 1; });
      if (!due.length) return;
      status(T.sending);
      return token().then(function (tok) {
        if (!tok && tokenWhy === "login") {
          status(T.login);
          return Promise.all(due.map(function (i) { i.last_error = { code: "login", status: 401 }; return put("interviews", i); }));
        }
        if (!tok) return Promise.all(due.map(function (i) { return retryLater(i, tokenWhy); }));
        return due.reduce(function (p, item) { return p.then(function () { return sendOne(item, tok); }); }, Promise.resolve());
      });
    });
  }
  function send() {
    if (sending) return sending;
    var run = navigator.locks ? navigator.locks.request("khaosat-send-" + boot.user_id, sendQueued) : sendQueued();
    sending = run.catch(function () {}).then(function () {
      sending = false;
      if ($("net").textContent === T.sending || $("net").textContent === T.login) status(navigator.onLine ? T.online : T.offline);
      progress();
      if (acked) { acked = 0; fetchHouseholds(); }
      return refresh();
    });
    return sending;
  }
  /* "Send now": after any send already under way, everything waiting is due at once */
  function sendNow() {
    return Promise.resolve(sending).then(dueNow).then(function () { tokenMiss = 0; return send(); });
  }

  /* ---- a sealed file of everything on the phone, for the server only (see web/collect/sealed.py) ---- */
  function b64(buf) {
    var bytes = new Uint8Array(buf), s = "", i;
    for (i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }
  function seal(items) {
    var subtle = window.crypto && crypto.subtle;
    if (!subtle) return Promise.reject(new Error("nocrypto"));
    var der = Uint8Array.from(atob(boot.export_key.spki), function (c) { return c.charCodeAt(0); });
    var iv = crypto.getRandomValues(new Uint8Array(12)), plain = new TextEncoder().encode(JSON.stringify({
      identity: boot.identity, exported_at: new Date().toISOString(), app_version: boot.version, items: items }));
    return Promise.all([subtle.importKey("spki", der, { name: "RSA-OAEP", hash: "SHA-256" }, false, ["wrapKey"]),
      subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"])]).then(function (keys) {
      return Promise.all([subtle.wrapKey("raw", keys[1], keys[0], { name: "RSA-OAEP" }),
        subtle.encrypt({ name: "AES-GCM", iv: iv }, keys[1], plain)]);
    }).then(function (parts) {
      return JSON.stringify({ format: "khaosat-interviews/1", key_id: boot.export_key.key_id, wrapped_key: b64(parts[0]), iv: b64(iv), data: b64(parts[1]) });
    });
  }
  function exportFile() {
    return all("interviews").then(function (items) {
      return seal(items).then(function (text) {
        var stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
        var name = "khaosat-" + boot.user + "-" + stamp + ".khaosat", url = URL.createObjectURL(new Blob([text], { type: "application/octet-stream" }));
        var a = el("a", { href: url, download: name });
        document.body.appendChild(a); a.click(); document.body.removeChild(a);
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        $("export-status").textContent = fill(T.saved_file, { n: items.length, name: name });
      });
    }).catch(function () { $("export-status").textContent = T.no_crypto; });
  }

  /* ---- kept for me: at logout each item of this volunteer is sealed for the server, one by one
     (the plain copy is replaced only by its sealed copy, so nothing is lost half-way); the next
     login of the same volunteer has the server open them again ---- */
  function sealAll() {
    return all("interviews").then(function (items) {
      return items.filter(function (i) { return !i.sealed; }).reduce(function (p, i) {
        return p.then(function () { return seal([i]); }).then(function (text) {
          return put("interviews", { uuid: i.uuid, sealed: text, status: "sealed" });
        });
      }, Promise.resolve());
    }).then(function () { return forgetNames(); }).then(function () { return del("kv", "token"); }).catch(function (e) { console.error("sealAll failed", e && e.name, e && e.message); });
  }
  function unsealAll() {
    return all("interviews").then(function (items) {
      var locked = items.filter(function (i) { return i.sealed; }).slice(0, 200);
      if (!locked.length || !navigator.onLine) return;
      return fetch(boot.unseal_url, { method: "POST", credentials: "same-origin", headers: { "X-KhaoSat-Collect": "1", "Content-Type": "text/plain" },
        body: JSON.stringify({ items: locked.map(function (i) { return i.sealed; }) }) }).then(function (r) {
        if (!r.ok || r.redirected || !isJson(r)) return;
        return r.json().then(function (j) {
          return Promise.all((j.items || []).map(function (open, n) {
            if (!open || open.uuid !== locked[n].uuid || open.sealed) return null;
            open.next_try = 0;
            return put("interviews", open);
          }));
        });
      }).catch(function () {});
    }).then(refresh);
  }

  /* ---- logging out: never loses an interview, never leaves them to the next user ---- */
  function signOut(form) {
    leaving = true; sealing = true;
    localStorage.setItem(OUT, String(boot.login));
    sealAll().then(function () { form.submit(); });
  }
  function guardLogout() {
    var form = document.querySelector("form.logout");
    if (!form) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      refresh().then(function () {
        if (!unsent) return signOut(form);
        var box = $("logout-box");
        $("logout-h").textContent = fill(T.logout_q, { n: unsent });
        box.hidden = false; $("logout-h").focus();
        $("logout-keep").onclick = function () { signOut(form); };
        $("logout-cancel").onclick = function () { box.hidden = true; };
        $("logout-send").onclick = function () {
          sendNow().then(function () {
            if (!unsent) return signOut(form);
            $("logout-h").textContent = fill(T.logout_q, { n: unsent });
          });
        };
      });
    });
  }

  /* ---- storage that survives a clean-up, and a warning before leaving with unsent work ---- */
  function persist() {
    if (!navigator.storage || !navigator.storage.persist) { $("persist").textContent = T.persist_no; return; }
    navigator.storage.persisted().then(function (p) { return p || navigator.storage.persist(); }).then(function (p) {
      $("persist").textContent = p ? T.persist_yes : T.persist_no;
      root.setAttribute("data-persisted", p ? "1" : "0");
    }).catch(function () { $("persist").textContent = T.persist_no; });
  }
  /* switching the language reloads this same page: nothing is left behind */
  Array.prototype.forEach.call(document.querySelectorAll("a[hreflang]"), function (a) {
    a.addEventListener("click", function () { leaving = true; });
  });
  window.addEventListener("beforeunload", function (e) {
    if (leaving || !unsent) return;
    e.preventDefault();
    e.returnValue = T.leave_warning;
    return T.leave_warning;
  });

  /* ---- app updates: a new service worker waits until the volunteer says so ---- */
  function watchUpdates(reg) {
    var offer = function (w) {
      if (!w || !navigator.serviceWorker.controller) return;
      $("update").hidden = false;
      $("update-now").onclick = function () { leaving = true; w.postMessage("skip-waiting"); };
    };
    offer(reg.waiting);
    reg.addEventListener("updatefound", function () {
      var w = reg.installing;
      if (w) w.addEventListener("statechange", function () { if (w.state === "installed") offer(w); });
    });
    navigator.serviceWorker.addEventListener("controllerchange", function () { if (leaving) location.reload(); });
  }

  /* ---- wiring ---- */
  Array.prototype.forEach.call(document.querySelectorAll("#surveys button"), function (b) {
    b.addEventListener("click", function () { start(b.getAttribute("data-slug"), Number(b.getAttribute("data-version"))); });
  });
  /* follow-up questions appear at once; the answers are saved to IndexedDB meanwhile */
  $("iform").addEventListener("change", function () { read(); toggle(); });
  $("iform").addEventListener("input", function () { read(); });
  $("next").addEventListener("click", function () {
    read().then(function () {
      if (!validate()) return;
      var n = step(current.page, 1);
      if (n === null) finish(); else show(n);
    });
  });
  $("back").addEventListener("click", function () { read().then(function () { var p = step(current.page, -1); if (p !== null) show(p); }); });
  $("leave").addEventListener("click", function () { read().then(home); });
  $("gps-consent").addEventListener("change", function () {
    current.gps_consent = this.checked;
    if (!this.checked) { delete current.gps; $("gps-status").textContent = ""; }
    put("interviews", current);
    if (this.checked) locate(current);
  });
  $("send").addEventListener("click", sendNow);
  $("hh-list").addEventListener("click", showAdults);
  $("hh-relist").addEventListener("click", showAdults);
  $("hh-visit-open").addEventListener("click", showVisitForm);
  $("hh-add").addEventListener("click", function () { readPeople().push({}); saveAdults().then(renderPeople); });
  $("hh-people").addEventListener("change", function () { readPeople(); saveAdults(); });
  $("hh-choose").addEventListener("click", chooseAdult);
  $("hh-start").addEventListener("click", startHousehold);
  $("hh-save").addEventListener("click", saveVisit);
  $("hh-back").addEventListener("click", home);
  $("export").addEventListener("click", exportFile);
  $("ward").addEventListener("change", function () { put("kv", $("ward").value, "ward"); });
  window.addEventListener("online", function () {
    status(T.online);
    refreshSurveys().catch(function () {}).then(unsealAll).then(sendNow).then(fetchHouseholds);
  });
  window.addEventListener("offline", function () { status(T.offline); });
  setInterval(send, 5000);
  guardLogout();
  persist();

  get("kv", "ward").then(function (w) { if (w) $("ward").value = w; }).then(areaPicker);
  status(navigator.onLine ? T.online : T.offline);
  refresh();
  showHouseholds().then(fetchHouseholds);
  var ready = [navigator.onLine ? storeSurveys().catch(function () {}) : markSurveys(), token(), unsealAll()];
  if ("serviceWorker" in navigator) {
    ready.push(navigator.serviceWorker.register("/collect/sw.js", { scope: "/collect/" }).then(function (reg) {
      watchUpdates(reg);
      return navigator.serviceWorker.ready;
    }));
  }
  Promise.all(ready).then(function () {
    return Promise.all(boot.surveys.map(function (s) { return survey(s.slug, s.version); }));
  }).then(function (list) {
    if (list.every(Boolean)) { status(T.ready); document.documentElement.setAttribute("data-offline-ready", "1"); }
    send();
  }).catch(function () {});
})();
