// A page showing a document still on its way to the accounting system looks again every few seconds.
(function () {
  var waiting = document.querySelector("[data-reload-after]");
  if (waiting) setTimeout(function () { location.reload(); }, Number(waiting.getAttribute("data-reload-after")));
})();
