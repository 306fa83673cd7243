// Every second, each "updated HH:MM:SS" line learns its age: "12 s ago", amber, then red when the
// data is older than its thresholds. Attributes only (React owns the text and the classes), so a
// re-render never fights this script.
(function () {
  function age(seconds) {
    if (seconds < 120) return Math.max(0, Math.round(seconds)) + " s ago";
    if (seconds < 7200) return Math.round(seconds / 60) + " min ago";
    return Math.round(seconds / 3600) + " h ago";
  }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-fetched]").forEach(function (el) {
      var seconds = now - Number(el.getAttribute("data-fetched"));
      el.setAttribute("data-age", age(seconds));
      var level = "fresh";
      if (seconds > Number(el.getAttribute("data-red"))) level = "red";
      else if (seconds > Number(el.getAttribute("data-amber"))) level = "amber";
      el.setAttribute("data-level", level);
    });
  }
  setInterval(tick, 1000);
  // A wall screen reloads itself on a schedule (default daily) so it can run for weeks.
  function scheduleReload() {
    var holder = document.querySelector("[data-reload-seconds]");
    if (!holder) { setTimeout(scheduleReload, 1000); return; }
    var seconds = Number(holder.getAttribute("data-reload-seconds"));
    if (seconds > 0) setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
  scheduleReload();
})();
