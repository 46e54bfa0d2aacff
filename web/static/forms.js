// Forms that do not lose work. No inline script (the CSP forbids it): this file only improves
// forms the server already checks. It
// - refuses a file over the size limit as soon as it is chosen, with the message beside the field;
// - keeps what was typed (sessionStorage, this tab only) when a task form is sent, and puts it back
//   when the server answers with the form again after refusing the request as too large;
// - shows a field that applies only to some cases (data-only-when) only when it applies;
// - writes codes marked data-text-case="upper" in capitals, as the server stores them.
(function () {
  "use strict";

  function message(field, text) {
    var box = field.closest(".field");
    var id = "e-" + field.name;
    var p = document.getElementById(id);
    if (!text) {
      if (p && p.dataset.client) { p.remove(); }
      field.removeAttribute("aria-invalid");
      if (box) { box.classList.remove("has-error"); }
      return;
    }
    if (!p) {
      p = document.createElement("p");
      p.className = "error";
      p.id = id;
      p.dataset.client = "1";
      field.parentNode.appendChild(p);
    }
    p.textContent = text;
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", id);
    if (box) { box.classList.add("has-error"); }
  }

  function checkSize(input) {
    var max = parseInt(input.dataset.maxBytes || "0", 10);
    var file = input.files && input.files[0];
    if (max && file && file.size > max) {
      message(input, "Berkas terlalu besar (paling besar " + input.dataset.maxLabel + "). Pilih berkas yang lebih kecil.");
      input.value = "";
      return false;
    }
    message(input, "");
    return true;
  }

  function keep(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.type === "hidden" || el.type === "submit") { return; }
      values[el.name] = el.type === "checkbox" ? (el.checked ? "true" : "") : el.value;
    });
    try { sessionStorage.setItem(form.dataset.formKey, JSON.stringify(values)); } catch (e) { /* full or off */ }
  }

  function restore(form) {
    var kept;
    try { kept = JSON.parse(sessionStorage.getItem(form.dataset.formKey) || "null"); } catch (e) { kept = null; }
    if (!kept) { return; }
    Object.keys(kept).forEach(function (name) {
      var el = form.elements.namedItem(name);
      if (!el || el.type === "file") { return; }
      if (el.type === "checkbox") { el.checked = kept[name] === "true"; } else { el.value = kept[name]; }
    });
  }

  function toggle(form) {
    form.querySelectorAll(".field[data-only-when]").forEach(function (box) {
      var control = form.elements.namedItem(box.dataset.onlyWhen);
      if (!control) { return; }
      var on = box.dataset.onlyWhenValues.split(",").indexOf(control.value) !== -1;
      box.hidden = !on;
      box.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !on; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.task-form").forEach(function (form) {
      if (form.dataset.formKey) {
        if (form.dataset.restore) { restore(form); } else {
          try { sessionStorage.removeItem(form.dataset.formKey); } catch (e) { /* off */ }
        }
      }
      form.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
        input.addEventListener("change", function () { checkSize(input); });
      });
      form.querySelectorAll("input[data-text-case=upper]").forEach(function (input) {
        input.addEventListener("change", function () { input.value = input.value.trim().toUpperCase(); });
      });
      if (form.querySelector(".field[data-only-when]")) {
        toggle(form);
        form.addEventListener("change", function () { toggle(form); });
      }
      form.addEventListener("submit", function (event) {
        var ok = true;
        var total = 0;
        form.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
          ok = checkSize(input) && ok;
          if (input.files && input.files[0]) { total += input.files[0].size; }
        });
        var maxTotal = parseInt(form.dataset.maxTotal || "0", 10);
        var drafting = event.submitter && event.submitter.hasAttribute("formnovalidate");
        if (!drafting && maxTotal && total > maxTotal) {
          ok = false;
          form.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
            if (input.files && input.files[0]) { message(input, "Semua berkas bersama melebihi batas kiriman. Kirim sebagian berkas dulu."); }
          });
        }
        if (!ok && !drafting) {
          event.preventDefault();
          var first = form.querySelector("[aria-invalid=true]");
          if (first) { first.focus(); }
          return;
        }
        if (drafting) {  // a draft keeps no files: do not send them
          form.querySelectorAll("input[type=file]").forEach(function (input) { input.disabled = true; });
          window.setTimeout(function () {
            form.querySelectorAll("input[type=file]").forEach(function (input) { input.disabled = false; });
          }, 0);
        }
        if (form.dataset.formKey) { keep(form); }
      });
    });
  });
})();
