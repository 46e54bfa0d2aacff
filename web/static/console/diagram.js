// Draws a case's diagram with bpmn-js (NavigatedViewer) and marks each element by state:
// completed, active, waiting (a timer, a join) and failed (an open incident), with a count.
(function () {
  "use strict";
  var STATES = ["failed", "active", "waiting", "completed"];
  var LABELS = { failed: "gagal", active: "aktif", waiting: "menunggu", completed: "selesai" };

  function badge(state, n) {
    var span = document.createElement("span");
    span.className = "diagram-count count-" + state;
    span.title = n + " " + LABELS[state];
    span.textContent = String(n);
    return span;
  }

  // A large diagram fitted to the box is unreadable: zoom in on where the case is (a failed
  // element first, then an active task, then a waiting event, then anything active).
  function focus(canvas, registry, elements) {
    if (canvas.zoom() >= 0.7) return;
    var ids = Object.keys(elements).filter(function (id) { return registry.get(id); });
    var isTask = function (id) { return /Task$/.test(registry.get(id).type); };
    var rules = [
      function (id) { return elements[id].failed > 0; },
      function (id) { return elements[id].active > 0 && isTask(id); },
      function (id) { return elements[id].waiting > 0; },
      function (id) { return elements[id].active > 0; }
    ];
    var target = null;
    rules.some(function (rule) {
      target = ids.filter(rule)[0] || null;
      return target !== null;
    });
    if (!target) return;
    var el = registry.get(target);
    canvas.zoom(0.75);
    var box = canvas.viewbox();
    canvas.viewbox({
      x: el.x + el.width / 2 - box.width / 2,
      y: el.y + el.height / 2 - box.height / 2,
      width: box.width,
      height: box.height
    });
  }

  function draw(container) {
    if (!window.BpmnJS) {
      container.textContent = "Penampil diagram belum terpasang (jalankan make install).";
      return;
    }
    var viewer = new window.BpmnJS({ container: container });
    var get = function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error(url + ": " + r.status);
        return r;
      });
    };
    Promise.all([
      get(container.dataset.xml).then(function (r) { return r.text(); }),
      get(container.dataset.marks).then(function (r) { return r.json(); })
    ]).then(function (both) {
      return viewer.importXML(both[0]).then(function () { return both[1]; });
    }).then(function (marks) {
      var canvas = viewer.get("canvas");
      var overlays = viewer.get("overlays");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport", "auto");
      Object.keys(marks.elements).forEach(function (id) {
        if (!registry.get(id)) return;
        var counts = marks.elements[id];
        var box = document.createElement("div");
        box.className = "diagram-counts";
        STATES.forEach(function (state) {
          if (counts[state] > 0) {
            canvas.addMarker(id, "mark-" + state);
            box.appendChild(badge(state, counts[state]));
          }
        });
        if (box.childNodes.length) overlays.add(id, { position: { bottom: 8, right: 8 }, html: box });
      });
      focus(canvas, registry, marks.elements);
      container.setAttribute("data-ready", "1");
    }).catch(function (err) {
      container.setAttribute("data-error", String(err));
      container.textContent = "Diagram tidak dapat ditampilkan: " + err;
    });
  }

  document.querySelectorAll("[data-diagram]").forEach(draw);
})();
