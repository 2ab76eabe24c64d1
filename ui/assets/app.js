// kfp-argo ui: sorting, filtering by state, choosing runs to compare, refreshing a running run.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.sortable th[data-sort]").forEach(function (th) {
    th.addEventListener("click", function () {
      var table = th.closest("table"), body = table.tBodies[0];
      var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
      var num = th.dataset.sort === "num", dir = th.dataset.dir === "asc" ? -1 : 1;
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      var key = function (tr) {
        var td = tr.children[idx]; var v = td.dataset.value !== undefined ? td.dataset.value : td.textContent.trim();
        if (num) { var f = parseFloat(v); return isNaN(f) ? -Infinity : f; }
        return v;
      };
      Array.from(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * dir;
      }).forEach(function (tr) { body.appendChild(tr); });
    });
  });
  var filter = document.getElementById("state-filter");
  if (filter) {
    filter.addEventListener("change", function () {
      document.querySelectorAll("table.runs tbody tr").forEach(function (tr) {
        tr.classList.toggle("hidden", filter.value !== "" && tr.dataset.state !== filter.value);
      });
    });
  }
  var button = document.getElementById("compare-button");
  if (button) {
    var update = function () {
      var n = document.querySelectorAll("input.pick:checked").length;
      button.disabled = n < 2 || n > 10;
      document.getElementById("compare-hint").textContent = n + " selected (2–10)";
    };
    document.querySelectorAll("input.pick").forEach(function (c) { c.addEventListener("change", update); });
  }
  var archived = document.getElementById("show-archived");
  if (archived) {
    archived.addEventListener("change", function () { document.body.classList.toggle("show-archived", archived.checked); });
  }
  var live = document.getElementById("run-body");
  if (live && live.firstElementChild && live.firstElementChild.dataset.terminal === "false") {
    var timer = setInterval(function () {
      fetch(live.dataset.refresh, { headers: { "Accept": "text/html" } }).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      }).then(function (html) {
        live.innerHTML = html;
        if (live.firstElementChild && live.firstElementChild.dataset.terminal === "true") { clearInterval(timer); }
      }).catch(function () { /* keep the last page; the next poll tries again */ });
    }, 3000);
  }
});
