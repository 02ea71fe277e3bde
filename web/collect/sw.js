/* KhaoSat interview mode service worker (scope /collect/). Keeps the app shell and the survey
   definitions; the answers themselves live in IndexedDB, never in this cache, so replacing this
   worker or its cache cannot lose an interview.

   Updates never take the app away: a new version installs only when every file of the shell came
   back complete, not redirected (no login page under /collect/) and of the right kind (no Wi-Fi
   login page under /static/); otherwise the install fails and the old version and its cache stay.
   A new version that installed waits until the volunteer taps "Update now" (or every tab is
   closed); only then is the old cache deleted. */
"use strict";
var CACHE = "ks-collect-__VERSION__";
var SHELL = { "/collect/": "text/html", "/static/style.css": "text/css", "/static/expr.js": "javascript",
  "/static/collect.js": "javascript", "/static/adults.js": "javascript", "/static/signout.js": "javascript",
  "/collect/areas.json": "application/json" };

/* our own answer: OK, not redirected, same origin, the expected type; the shell names itself */
function ours(response, kind) {
  if (!response || !response.ok || response.redirected || response.type !== "basic") return false;
  if ((response.headers.get("Content-Type") || "").indexOf(kind) < 0) return false;
  return kind !== "text/html" || response.headers.has("X-KhaoSat-Shell");
}

self.addEventListener("install", function (event) {
  event.waitUntil(Promise.all(Object.keys(SHELL).map(function (url) {
    return fetch(new Request(url, { cache: "reload", credentials: "same-origin" })).then(function (response) {
      if (!ours(response, SHELL[url])) throw new Error("incomplete shell: " + url);
      return [url, response];
    });
  })).then(function (pairs) {
    return caches.open(CACHE).then(function (c) {
      return Promise.all(pairs.map(function (p) { return c.put(p[0], p[1]); }));
    });
  }).catch(function (error) {
    return caches.delete(CACHE).then(function () { throw error; });
  }));
});

self.addEventListener("message", function (event) {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("ks-collect-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function fromCache(request) {
  return caches.match(request, { ignoreSearch: request.mode === "navigate" });
}

/* the network when it gives our own answer (kept for offline use), else the copy kept */
function networkFirst(request, kind) {
  return fetch(request).then(function (response) {
    if (ours(response, kind)) {
      var copy = response.clone();
      caches.open(CACHE).then(function (c) { c.put(request, copy); });
      return response;
    }
    if (response.redirected && new URL(response.url).origin === self.location.origin) return response;  /* our login page */
    return fromCache(request).then(function (hit) { return hit || response; });
  }, function () {
    return fromCache(request).then(function (hit) { return hit || Response.error(); });
  });
}

function cacheFirst(request) {
  return caches.match(request).then(function (hit) {
    return hit || fetch(request);
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/collect/") {
    event.respondWith(networkFirst(request, "text/html"));
  } else if (url.pathname.indexOf("/api/v1/surveys/") === 0 || url.pathname === "/collect/areas.json") {
    event.respondWith(networkFirst(request, "application/json"));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(cacheFirst(request));
  }
});
