// pyship dashboard: the live parts. Reading works without it; this adds the log
// stream (server-sent events), its filter and pause, and a confirm before actions.
"use strict";
(function () {
  var section = document.querySelector("section.logs");
  if (!section) return;
  var app = section.getAttribute("data-app");
  var pre = document.getElementById("log");
  var filter = document.getElementById("log-filter");
  var pauseBtn = document.getElementById("log-pause");
  var state = document.getElementById("log-state");
  var paused = false, held = [], max = 2000;
  function shown(line) { var f = filter.value; return !f || line.indexOf(f) >= 0; }
  function add(line) {
    var div = document.createElement("div");
    div.textContent = line;
    if (!shown(line)) div.hidden = true;
    var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.appendChild(div);
    while (pre.childNodes.length > max) pre.removeChild(pre.firstChild);
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  }
  filter.addEventListener("input", function () {
    for (var i = 0; i < pre.childNodes.length; i++) {
      var n = pre.childNodes[i];
      n.hidden = !shown(n.textContent);
    }
  });
  pauseBtn.addEventListener("click", function () {
    paused = !paused;
    pauseBtn.setAttribute("aria-pressed", String(paused));
    pauseBtn.textContent = paused ? "Resume" : "Pause";
    if (!paused) { held.forEach(add); held = []; }
  });
  // The replicas' CPU and memory: sampled by the engine over about a second, so
  // asked for after the page is shown, and again every 5 s.
  function mib(b) { return (b / 1048576).toFixed(1) + " MiB"; }
  function stats() {
    fetch("/api/apps/" + encodeURIComponent(app) + "/stats").then(function (r) { return r.ok ? r.json() : {}; }).then(function (all) {
      Object.keys(all).forEach(function (name) {
        var s = all[name];
        document.querySelectorAll("[data-cpu]").forEach(function (td) {
          if (td.getAttribute("data-cpu") === name) { td.textContent = s.cpu_percent.toFixed(1) + "%"; td.className = ""; }
        });
        document.querySelectorAll("[data-mem]").forEach(function (td) {
          if (td.getAttribute("data-mem") === name) { td.textContent = mib(s.memory_bytes); td.className = ""; }
        });
      });
    }).catch(function () {});
  }
  stats();
  setInterval(stats, 5000);
  // The stream: the last 100 lines first, then new ones. After a dropped connection
  // it is opened again asking for none of the old lines (they are on the page), and a
  // stream the server ended with a failure is not opened again.
  var es = null, failed = false;
  function open(tail) {
    es = new EventSource("/apps/" + encodeURIComponent(app) + "/logs?tail=" + tail);
    es.onopen = function () { state.textContent = "live"; };
    es.onerror = function () {
      es.close();
      if (failed) return;
      state.textContent = "reconnecting";
      setTimeout(function () { open(0); }, 2000);
    };
    es.addEventListener("failure", function (e) {
      failed = true;
      es.close();
      state.textContent = JSON.parse(e.data).message;
    });
    es.onmessage = function (e) {
      var l = JSON.parse(e.data);
      var rev = l.revision.slice(l.revision.lastIndexOf("--") + 2);
      var line = l.time + " [" + rev + "/" + l.replica + "] " + l.message;
      if (!paused) { add(line); return; }
      held.push(line);
      if (held.length > max) held.shift();
    };
  }
  open(100);
})();
