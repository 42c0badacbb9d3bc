// The crew's phone sheet: records queue on the phone and are sent when the connection returns.
//
// Each saved form becomes one record with an id of its own (a UUID) in a queue kept in the
// phone's localStorage; the queue is sent in order on page load, when the browser says it is
// online again, and right after saving. The server applies each id once, so a record sent twice
// (the answer to the first try was lost) is recorded once. A record is sent with a fresh CSRF
// token asked for just before sending: a record may wait longer than a token lives.
// The service worker (crew-sw.js) keeps the sheet and its files for opening without signal.
(function () {
  "use strict";
  var sheet = document.getElementById("crew-sheet");
  if (!sheet) return;
  var KEY = "taxvan-crew-queue:" + sheet.dataset.recordUrl;
  var sending = false;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(queue) { localStorage.setItem(KEY, JSON.stringify(queue)); }

  function status(visitId, text, kind) {
    var el = document.getElementById("status-" + visitId);
    if (!el) return;
    el.textContent = text;
    el.className = "record-status " + (kind || "");
  }

  function connection() {
    var el = document.getElementById("connection");
    var waiting = load().length;
    var parts = [];
    if (!navigator.onLine) parts.push(sheet.dataset.offline);
    if (waiting) parts.push(sheet.dataset.waiting.replace("{n}", waiting));
    el.textContent = parts.join(document.documentElement.lang.indexOf("zh") === 0 ? "" : " ");
    el.className = "connection" + (parts.length ? " notice" : "");
  }

  function value(form, name) {
    var el = form.elements[name];
    return el ? el.value.trim() : "";
  }

  function snapshot(form) {
    var outcomes = {};
    var walkIns = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.type === "radio" && el.checked && el.value && el.name.indexOf("outcome-") === 0) {
        outcomes[el.name.slice(8)] = el.value;
      }
      if (el.dataset && el.dataset.service && el.value.trim() !== "" && Number(el.value) > 0) {
        walkIns.push({ service: el.dataset.service, count: Number(el.value) });
      }
    });
    var code = value(form, "walkin_code").toUpperCase();
    if (code) walkIns.push({ service: value(form, "walkin_code_service"), count: 1, credit_code: code });
    var away = value(form, "turned_away");
    return {
      client_id: uuid(),
      visit_id: Number(form.dataset.visit),
      arrival: value(form, "arrival") || null,
      departure: value(form, "departure") || null,
      outcomes: outcomes,
      walk_ins: walkIns,
      turned_away: away === "" ? 0 : Number(away),
      note: value(form, "note")
    };
  }

  function restore(record) {
    // A record still on the phone shows in its form after the sheet is opened again.
    var form = document.querySelector('form.record-form[data-visit="' + record.visit_id + '"]');
    if (!form) return;
    form.elements.arrival.value = record.arrival || "";
    form.elements.departure.value = record.departure || "";
    Object.keys(record.outcomes).forEach(function (code) {
      var radios = form.querySelectorAll('input[name="outcome-' + code + '"]');
      Array.prototype.forEach.call(radios, function (r) { r.checked = r.value === record.outcomes[code]; });
    });
    Array.prototype.forEach.call(form.querySelectorAll("input[data-service]"), function (el) {
      var row = record.walk_ins.filter(function (w) { return !w.credit_code && w.service === el.dataset.service; })[0];
      el.value = row ? row.count : "";
    });
    var coded = record.walk_ins.filter(function (w) { return w.credit_code; })[0];
    form.elements.walkin_code.value = coded ? coded.credit_code : "";
    if (coded) form.elements.walkin_code_service.value = coded.service;
    form.elements.turned_away.value = record.turned_away || "";
    form.elements.note.value = record.note || "";
  }

  function token() {
    return fetch(sheet.dataset.tokenUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { var e = new Error("token"); e.status = r.status; throw e; }
        return r.json();
      })
      .then(function (body) { return body.csrf_token; });
  }

  function sendOne(record, csrf) {
    return fetch(sheet.dataset.recordUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(record)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return { status: r.status, body: body }; });
    });
  }

  function flush() {
    if (sending || !load().length) { connection(); return Promise.resolve(); }
    sending = true;
    return token().then(function (csrf) {
      function next() {
        var queue = load();
        if (!queue.length) return null;
        var record = queue[0];
        return sendOne(record, csrf).then(function (answer) {
          if (answer.status === 401 || answer.status === 403) {
            status(record.visit_id, sheet.dataset.signIn, "queued");
            return null;  // kept: sign in again, then it goes
          }
          if (answer.status >= 500) return null;  // kept: try again later
          var rest = load().filter(function (r) { return r.client_id !== record.client_id; });
          save(rest);
          if (answer.status === 200) status(record.visit_id, sheet.dataset.sent, "sent");
          else status(record.visit_id, sheet.dataset.refused + " " + (answer.body.message || answer.status), "refused");
          return next();
        });
      }
      return next();
    }).catch(function (e) {
      // No connection (or the session ended): everything stays queued.
      if (e && (e.status === 401 || e.status === 403)) {
        load().forEach(function (r) { status(r.visit_id, sheet.dataset.signIn, "queued"); });
      }
    }).then(function () { sending = false; connection(); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("record-form")) return;
    event.preventDefault();
    var record = snapshot(form);
    // The newest record of a visit holds all of it: an older one not sent yet is dropped.
    var queue = load().filter(function (r) { return r.visit_id !== record.visit_id; });
    queue.push(record);
    save(queue);
    status(record.visit_id, sheet.dataset.queued, "queued");
    connection();
    if (navigator.onLine) flush();
  });

  document.addEventListener("click", function (event) {
    var target = event.target.dataset && event.target.dataset.now;
    if (!target) return;
    var d = new Date();
    document.getElementById(target).value = ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  });

  Array.prototype.forEach.call(document.querySelectorAll("button.now"), function (b) { b.hidden = false; });
  load().forEach(function (r) {
    restore(r);
    status(r.visit_id, sheet.dataset.queued, "queued");
  });
  window.addEventListener("online", flush);
  window.addEventListener("offline", connection);
  connection();
  flush();

  if ("serviceWorker" in navigator && sheet.hasAttribute("data-crew")) {
    navigator.serviceWorker.register(sheet.dataset.swUrl, { scope: sheet.dataset.swScope }).catch(function () {});
  } else if ("serviceWorker" in navigator) {
    // A dispatcher's or an administrator's browser keeps no copy of the district's pages: a
    // service worker left from a crew's session on this browser goes, with its copies.
    navigator.serviceWorker.getRegistration(sheet.dataset.swScope).then(function (r) {
      if (!r) return;
      return r.unregister().then(function () { return caches.keys(); }).then(function (keys) {
        return Promise.all(keys.filter(function (k) { return k.indexOf("taxvan-crew") === 0; })
          .map(function (k) { return caches.delete(k); }));
      });
    }).catch(function () {});
  }
})();
