// Live pages: while a case waits on a system step, poll its small status and reload the page
// once the case has moved on (its version rose), so nobody reloads by hand.
(function () {
  "use strict";
  var el = document.querySelector("[data-live]");
  if (!el) return;
  var version = el.dataset.version;
  var interval = Number(el.dataset.interval || 2000);
  function poll() {
    fetch(el.dataset.live, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        if (String(s.version) !== String(version)) {
          window.location.reload();
          return;
        }
        if (s.system) window.setTimeout(poll, interval);
        else el.hidden = true;
      })
      .catch(function () { window.setTimeout(poll, interval * 5); });
  }
  if (el.dataset.system === "1") window.setTimeout(poll, interval);
})();
