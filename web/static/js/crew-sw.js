// The crew's service worker: keeps the day's sheet and its files on the phone, so the sheet
// opens in a village without signal. Its scope is one district's console pages
// (/dispatch/districts/<code>/), so it never answers for any other page of the site.
//
// Pages: network first (the sheet is fresh whenever there is signal), the kept copy when the
// network fails; a page that sends the phone to sign in (signed out, the session over) drops
// the kept copies, so a signed-out phone keeps no taxpayer's name once it has signal. The site's own files: the kept copy first. Records are not sent from here:
// the page's queue (crew.js) sends them, with a fresh CSRF token, when the phone is online.
"use strict";

var CACHE = "taxvan-crew-v2";  // v1 kept every page of the scope: activating v2 drops them
var SCOPE = self.registration.scope;
var SHEET = SCOPE + "today";
var SHEET_PATH = new URL(SHEET).pathname;
var FILES = [
  "/static/css/site.css",
  "/static/css/dispatch.css",
  "/static/css/daysheet.css",
  "/static/js/crew.js",
  "/static/favicon.svg"
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(FILES).then(function () {
        return fetch(SHEET, { credentials: "same-origin" }).then(function (r) {
          if (r.ok && !r.redirected) return cache.put(SHEET, r);
        }).catch(function () {});
      });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function forgetPages() {
  // Signed out (or the session ended): the kept sheets, with taxpayers' names, go too.
  return caches.open(CACHE).then(function (cache) {
    return cache.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) {
        return new URL(k.url).pathname.indexOf("/static/") !== 0;
      }).map(function (k) { return cache.delete(k); }));
    });
  });
}

function sheetPage(event) {
  var request = event.request;
  return fetch(request).then(function (response) {
    // A navigation is fetched with redirect "manual": a redirect (to the sign-in page) comes
    // back opaque, and the browser follows it.
    var away = response.redirected || response.type === "opaqueredirect";
    if (response.ok && !away) {
      var copy = response.clone();
      event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.put(request.url, copy); }));
    } else if (away) {
      event.waitUntil(forgetPages());
    }
    return response;
  }).catch(function () {
    return caches.match(request.url).then(function (hit) {
      return hit || caches.match(SHEET);
    });
  });
}

function otherPage(event) {
  return fetch(event.request).then(function (response) {
    if (response.redirected || response.type === "opaqueredirect") event.waitUntil(forgetPages());
    return response;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && request.url.indexOf(SCOPE) === 0) {
    // Only the day sheet is kept (all a crew opens): any other page of the district (a
    // dispatcher's full day sheet, a download) goes by the network, never into the cache.
    event.respondWith(url.pathname === SHEET_PATH ? sheetPage(event) : otherPage(event));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(
      caches.match(request).then(function (hit) {
        return hit || fetch(request).then(function (response) {
          if (response.ok) {
            var copy = response.clone();
            caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
          }
          return response;
        });
      })
    );
  }
});
