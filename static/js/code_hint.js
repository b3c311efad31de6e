// On the rate and tax rate forms, as a code is typed: is its accounting part (after any PREFIX|) one of the
// codes the accounting system offers? The field names its list (`list`), the hint is #code-hint.
(function () {
  var hint = document.getElementById("code-hint");
  if (!hint) return;
  document.querySelectorAll("input[list]").forEach(function (input) {
    var offered = Array.prototype.map.call(document.querySelectorAll("#" + input.getAttribute("list") + " option"), function (o) { return o.value; });
    function check() { var code = input.value.split("|").pop().trim(); hint.hidden = !code || offered.indexOf(code) !== -1; }
    input.addEventListener("input", check);
    check();
  });
})();
