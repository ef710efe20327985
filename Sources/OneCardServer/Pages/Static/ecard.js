// Counts down the seconds the QR code has left and, unless the resident turned automatic refresh
// off, reloads the page for a fresh one. Without JavaScript the page refreshes itself every 50 seconds.
(function () {
  var el = document.getElementById("seconds-left");
  if (!el) return;
  var expires = Date.parse(el.getAttribute("data-expires"));
  function tick() {
    var left = Math.max(0, Math.floor((expires - Date.now()) / 1000));
    el.textContent = String(left);
    if (left <= 3 && el.getAttribute("data-reload") === "yes") { window.location.reload(); return; }
    window.setTimeout(tick, 1000);
  }
  tick();
})();
