// The draft's lines: add and remove lines without saving, fill an empty description from the chosen rate,
// and keep a running subtotal, tax and total. Amounts follow billing/amounts.py (and Xero): each line's
// net and tax rounded to the cent, half away from zero, then summed; BigInt keeps them exact.
(function () {
  var table = document.querySelector("table.lines");
  var template = document.getElementById("line-template");
  if (!table || !template) return;
  var body = table.tBodies[0];
  var totalForms = document.querySelector("input[name$='-TOTAL_FORMS']");
  var maxForms = document.querySelector("input[name$='-MAX_NUM_FORMS']");
  var addButton = document.getElementById("add-line");

  // "12.5" with places 4 -> 125000n; null when it is not a number with at most that many decimals.
  function scaled(text, places) {
    var match = /^\s*(-?)(\d*)(?:\.(\d*))?\s*$/.exec(text || "");
    if (!match || (!match[2] && !match[3]) || (match[3] || "").length > places) return null;
    var digits = BigInt((match[2] || "0") + (match[3] || "").padEnd(places, "0"));
    return match[1] ? -digits : digits;
  }
  function divideRounded(n, d) {
    var q = n / d, r = n % d;
    if ((r < 0n ? -r : r) * 2n >= d) q += n < 0n ? -1n : 1n;
    return q;
  }
  function money(cents) {
    var sign = cents < 0n ? "-" : "", abs = cents < 0n ? -cents : cents;
    var whole = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + whole + "." + (abs % 100n).toString().padStart(2, "0");
  }
  function field(row, suffix) { return row.querySelector("[name$='-" + suffix + "']"); }
  function removed(row) { var box = field(row, "DELETE"); return row.hidden || (box && box.checked); }

  function lineCents(row) {
    var quantity = scaled(field(row, "quantity").value, 4), price = scaled(field(row, "unit_price").value, 4);
    var tax = field(row, "tax_rate"), option = tax.options[tax.selectedIndex];
    var percent = option ? scaled(option.getAttribute("data-percent"), 4) : null;
    if (quantity === null || price === null) return null;
    var net = divideRounded(quantity * price, 1000000n);
    return { net: net, tax: percent === null ? 0n : divideRounded(net * percent, 1000000n) };
  }
  function recompute() {
    var net = 0n, tax = 0n;
    Array.prototype.forEach.call(body.rows, function (row) {
      if (removed(row)) return;
      var cents = lineCents(row);
      if (cents) { net += cents.net; tax += cents.tax; }
    });
    table.querySelector("[data-total=subtotal]").textContent = money(net);
    table.querySelector("[data-total=tax]").textContent = money(tax);
    table.querySelector("[data-total=total]").textContent = money(net + tax);
  }

  function fillDescription(row) {
    var rate = field(row, "rate"), description = field(row, "description");
    var option = rate.options[rate.selectedIndex], label = option ? option.getAttribute("data-label") || "" : "";
    if (!description.value || description.value === row.dataset.filled) {
      description.value = label;
      row.dataset.filled = label;
    }
  }
  function prepare(row) {
    var box = field(row, "DELETE");
    if (box) {
      box.hidden = true;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.setAttribute("data-testid", "remove-line");
      remove.addEventListener("click", function () { box.checked = true; row.hidden = true; recompute(); });
      box.parentNode.appendChild(remove);
      if (box.checked) row.hidden = true;
    }
    field(row, "rate").addEventListener("change", function () { fillDescription(row); });
  }
  function addLine() {
    var index = parseInt(totalForms.value, 10);
    var holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    var row = holder.querySelector("tr");
    body.appendChild(row);
    totalForms.value = String(index + 1);
    prepare(row);
    showAddButton();
    field(row, "rate").focus();
  }
  function showAddButton() {
    addButton.hidden = parseInt(totalForms.value, 10) >= parseInt(maxForms.value, 10);
  }

  Array.prototype.forEach.call(body.rows, prepare);
  table.addEventListener("input", recompute);
  table.addEventListener("change", recompute);
  addButton.addEventListener("click", addLine);
  showAddButton();
  recompute();
})();
