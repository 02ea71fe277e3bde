/* KhaoSat interview mode: renders a survey from its JSON, saves every answer in IndexedDB as it is
   given, queues finished interviews and sends them with retries and exponential backoff. An item
   leaves the queue only on the server's 201/200; 409 and 422 stay on screen. */
(function () {
  "use strict";
  var root = document.getElementById("collect");
  if (!root || !window.indexedDB) return;
  var boot = JSON.parse(root.getAttribute("data-boot")), T = boot.t;
  var $ = function (id) { return document.getElementById(id); };
  var dbp, current = null, inst = null, sending = false;

  /* ---- IndexedDB: interviews (keyPath uuid), surveys (key "slug:version"), kv ---- */
  function open() {
    if (!dbp) dbp = new Promise(function (ok, fail) {
      var r = indexedDB.open("khaosat-collect", 1);
      r.onupgradeneeded = function () {
        var d = r.result;
        d.createObjectStore("interviews", { keyPath: "uuid" });
        d.createObjectStore("surveys");
        d.createObjectStore("kv");
      };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    });
    return dbp;
  }
  function tx(store, mode, fn) {
    return open().then(function (d) {
      return new Promise(function (ok, fail) {
        var t = d.transaction(store, mode), s = t.objectStore(store), out = fn(s);
        t.oncomplete = function () { ok(out && "result" in out ? out.result : undefined); };
        t.onerror = t.onabort = function () { fail(t.error); };
      });
    });
  }
  var get = function (st, k) { return tx(st, "readonly", function (s) { return s.get(k); }); };
  var put = function (st, v, k) { return tx(st, "readwrite", function (s) { return k === undefined ? s.put(v) : s.put(v, k); }); };
  var del = function (st, k) { return tx(st, "readwrite", function (s) { return s.delete(k); }); };
  var all = function (st) { return tx(st, "readonly", function (s) { return s.getAll(); }); };

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
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (j) { return put("surveys", j, j.slug + ":" + j.version); });
    }));
  }
  function survey(slug, version) { return get("surveys", slug + ":" + version); }

  /* ---- token for the submissions API (kept in IndexedDB) ---- */
  function token() {
    return get("kv", "token").then(function (t) {
      if (t || !navigator.onLine) return t;
      return fetch(boot.token_url, { method: "POST", credentials: "same-origin", headers: { "X-KhaoSat-Collect": "1" } })
        .then(function (r) {
          var json = (r.headers.get("Content-Type") || "").indexOf("json") >= 0;
          if (!r.ok || !json) { status(T.login); return null; }
          return r.json().then(function (j) { return put("kv", j.token, "token").then(function () { return j.token; }); });
        }).catch(function () { return null; });
    });
  }

  /* ---- home screen ---- */
  function status(text) { $("net").textContent = text; }
  function refresh() {
    return all("interviews").then(function (items) {
      var queued = items.filter(function (i) { return i.status === "queued"; });
      $("queue").textContent = fill(T.waiting, { n: queued.length });
      var drafts = $("drafts"), problems = $("problems");
      drafts.textContent = ""; problems.textContent = "";
      items.filter(function (i) { return i.status === "draft"; }).forEach(function (i) {
        var b = el("button", { type: "button", "class": "secondary" }, T.resume + ": " + i.title + " (" + fill(T.started, { when: new Date(i.started_at).toLocaleString() }) + ")");
        b.addEventListener("click", function () { resume(i); });
        drafts.appendChild(el("li")).appendChild(b);
      });
      if (!drafts.children.length) drafts.appendChild(el("li", {}, T.nodraft));
      items.filter(function (i) { return i.status === "conflict" || i.status === "invalid"; }).forEach(function (i) {
        var li = el("li", { "class": "error", "data-uuid": i.uuid });
        li.appendChild(el("span", {}, i.title + " · " + i.uuid.slice(0, 8) + ": " + (i.status === "conflict" ? T.conflict : T.invalid + " " + (i.messages || []).join(" "))));
        if (i.status === "invalid") {
          var b = el("button", { type: "button", "class": "link" }, T.fix);
          b.addEventListener("click", function () { i.status = "draft"; put("interviews", i).then(function () { resume(i); }); });
          li.appendChild(b);
        }
        problems.appendChild(li);
      });
    });
  }
  function progress() {
    if (!navigator.onLine) return;
    fetch("/collect/progress", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
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

  /* ---- an interview ---- */
  function start(slug, version) {
    var ward = $("ward").value;
    if (!ward) { status(T.pick_ward); $("ward").focus(); return; }
    survey(slug, version).then(function (s) {
      if (!s) return;
      var answers = {};
      s.pages.forEach(function (p) { p.questions.forEach(function (q) { if (q.type === "area") answers[q.name] = Number(ward); }); });
      var item = { uuid: uuid(), survey: slug, version: s.version, title: s.title[boot.lang] || s.title[s.default_language],
        ward: Number(ward), lang: boot.lang, answers: answers, page: -1, status: "draft", started_at: new Date().toISOString() };
      put("interviews", item).then(function () { resume(item); });
    });
  }
  function resume(item) {
    survey(item.survey, item.version).then(function (s) {
      current = item; inst = s;
      $("home").hidden = true; $("interview").hidden = false;
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
  function input(box, name, q, value) {
    var id = "i-" + name.replace(/\./g, "-");
    if (["single", "yesno", "likert"].indexOf(q.type) >= 0 || (q.type === "knowledge" && !q.multiple)) return choiceInputs(box, name, q, value, false);
    if (q.type === "multiple" || q.type === "knowledge") return choiceInputs(box, name, q, value, true);
    if (q.type === "consent") {
      var lab = el("label", { "class": "choice" }), c = el("input", { type: "checkbox", name: name, value: "1" });
      c.checked = value === "1"; lab.appendChild(c); lab.appendChild(document.createTextNode(" " + T.agree));
      return box.appendChild(lab);
    }
    box.appendChild(el("label", { "for": id, "class": "sr-only" }, txt(q.label)));
    var f;
    if (q.type === "area") {
      f = el("select", { id: id, name: name });
      f.appendChild(el("option", { value: "" }, T.choose));
      boot.wards.forEach(function (w) { var o = el("option", { value: w[0] }, w[1]); o.selected = String(value) === String(w[0]); f.appendChild(o); });
    } else if (q.type === "text") {
      f = el("textarea", { id: id, name: name, maxlength: 2000 }); f.value = value || "";
    } else {
      f = el("input", { id: id, name: name, type: q.type === "date" ? "date" : "number", step: q.type === "integer" ? "1" : "any",
        inputmode: q.type === "integer" ? "numeric" : q.type === "decimal" ? "decimal" : null, min: q.minimum, max: q.maximum });
      f.value = value === undefined || value === null ? "" : value;
    }
    box.appendChild(f);
  }
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
      var b = el("button", { type: "button", "class": "link", lang: code, "data-lang": code }, code === "vi" ? "Tiếng Việt" : code === "en" ? "English" : code);
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
        var multi = q.type === "multiple" || (q.type === "knowledge" && q.multiple), v;
        if (multi) v = Array.prototype.filter.call(els, function (e) { return e.checked; }).map(function (e) { return e.value; });
        else if (els[0].type === "radio" || els[0].type === "checkbox") {
          var hit = Array.prototype.filter.call(els, function (e) { return e.checked; })[0];
          v = hit ? hit.value : undefined;
        } else v = els[0].value === "" ? undefined : (["integer", "decimal", "area"].indexOf(q.type) >= 0 ? Number(els[0].value) : els[0].value);
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
    if (q.type === "integer" || q.type === "decimal") {
      if (typeof v !== "number" || isNaN(v)) return T.number;
      if (q.type === "integer" && v % 1 !== 0) return T.integer;
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
      meta: { started_at: current.started_at, ended_at: end.toISOString(), duration_s: Math.round((end - new Date(current.started_at)) / 1000),
        channel: "interview", language: current.lang, volunteer: boot.user, app_version: boot.version,
        gps_consent: !!current.gps_consent } };
    if (current.gps_consent && current.gps) current.body.meta.gps = current.gps;
    current.attempts = 0; current.next_try = 0;
    return put("interviews", current).then(home).then(send);
  }
  function home() {
    current = null; inst = null;
    $("interview").hidden = true; $("home").hidden = false;
    return refresh();
  }

  /* ---- the queue ---- */
  function backoff(item) {
    item.attempts = (item.attempts || 0) + 1;
    var delay = Math.min(300000, 2000 * Math.pow(2, item.attempts));
    item.next_try = Date.now() + delay * (0.5 + Math.random() / 2);
  }
  function sendOne(item, tok) {
    return fetch("/api/v1/submissions", { method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + tok }, body: JSON.stringify(item.body) })
      .then(function (r) {
        if (r.status === 201 || r.status === 200) return del("interviews", item.uuid).then(function () { return true; });
        if (r.status === 409) item.status = "conflict";
        else if (r.status === 422 || r.status === 404) {
          item.status = "invalid";
          return r.json().catch(function () { return {}; }).then(function (j) {
            var errs = j.errors || (j.error ? { _: j.error } : {});
            item.messages = Object.keys(errs).map(function (k) { return (errs[k][boot.lang] || errs[k].vi || "") + (k === "_" ? "" : " (" + k + ")"); });
            return put("interviews", item);
          });
        } else {
          if (r.status === 401) del("kv", "token");
          backoff(item);
        }
        return put("interviews", item);
      }, function () { backoff(item); return put("interviews", item); });
  }
  function sendQueued() {
    return all("interviews").then(function (items) {
      var due = items.filter(function (i) { return i.status === "queued" && (i.next_try || 0) <= Date.now(); });
      if (!due.length) return;
      status(T.sending);
      return token().then(function (tok) {
        if (!tok) return;
        return due.reduce(function (p, item) { return p.then(function () { return sendOne(item, tok); }); }, Promise.resolve());
      });
    });
  }
  function send() {
    if (sending || !navigator.onLine) return Promise.resolve();
    sending = true;
    var run = navigator.locks ? navigator.locks.request("khaosat-send", sendQueued) : sendQueued();
    return run.catch(function () {}).then(function () {
      sending = false;
      status(navigator.onLine ? T.online : T.offline);
      progress();
      return refresh();
    });
  }

  /* ---- wiring ---- */
  Array.prototype.forEach.call(document.querySelectorAll("#surveys button"), function (b) {
    b.addEventListener("click", function () { start(b.getAttribute("data-slug"), Number(b.getAttribute("data-version"))); });
  });
  $("iform").addEventListener("change", function () { read().then(toggle); });
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
  $("send").addEventListener("click", function () {
    all("interviews").then(function (items) {
      return Promise.all(items.filter(function (i) { return i.status === "queued"; }).map(function (i) { i.next_try = 0; return put("interviews", i); }));
    }).then(send);
  });
  $("ward").addEventListener("change", function () { put("kv", $("ward").value, "ward"); });
  window.addEventListener("online", function () { status(T.online); $("send").click(); });
  window.addEventListener("offline", function () { status(T.offline); });
  setInterval(send, 5000);

  get("kv", "ward").then(function (w) { if (w) $("ward").value = w; });
  status(navigator.onLine ? T.online : T.offline);
  refresh();
  var ready = [navigator.onLine ? storeSurveys().catch(function () {}) : Promise.resolve(), token()];
  if ("serviceWorker" in navigator) ready.push(navigator.serviceWorker.register("/collect/sw.js", { scope: "/collect/" }).then(function () { return navigator.serviceWorker.ready; }));
  Promise.all(ready).then(function () {
    return Promise.all(boot.surveys.map(function (s) { return survey(s.slug, s.version); }));
  }).then(function (list) {
    if (list.every(Boolean)) { status(T.ready); document.documentElement.setAttribute("data-offline-ready", "1"); }
    send();
  }).catch(function () {});
})();
