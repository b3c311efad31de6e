// While a document on the invoice list waits to reach the accounting system, look again every few seconds
// (the list's own URL, filters kept) so that its state changes without anyone refreshing.
(function () {
  if (!document.querySelector(".badge-sync-waiting, .badge-sync-sending")) return;
  var polls = 0;
  var timer = setInterval(function () {
    if (++polls > 60) { clearInterval(timer); return; }  // five minutes at most: then the footer's hint applies
    fetch(location.href, {credentials: "same-origin"}).then(function (answer) { return answer.text(); }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("table.list tbody");
      var shown = document.querySelector("table.list tbody");
      if (fresh && shown) shown.replaceWith(fresh);
      if (!document.querySelector(".badge-sync-waiting, .badge-sync-sending")) clearInterval(timer);
    }).catch(function () {});
  }, 5000);
})();
