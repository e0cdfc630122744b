// Live updates of the orders page from the console's relay of GET /v1/orders/stream
// (docs/decisions/0103): a new order is announced, added on top of the table when it belongs
// to the tab shown, and the affected tab's badge counts up. No reload.
(function () {
  "use strict";
  if (!window.EventSource) return;
  var live = document.getElementById("live");
  var table = document.querySelector("table.orders");
  var shownView = table ? table.dataset.view : "";
  var source = new EventSource("/orders/stream");
  source.addEventListener("ready", function () {
    document.body.dataset.live = "ready";
  });
  source.addEventListener("order", function (message) {
    var event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    var badge = event.view && document.querySelector('[data-count="' + event.view + '"]');
    if (badge) {
      var n = parseInt(badge.textContent, 10);
      badge.textContent = isNaN(n) ? "1" : String(n + 1);
      badge.parentElement.classList.add("updated");
    }
    if (event.kind === "created") {
      if (live) live.textContent = "New order " + event.order_id;
      if (table && (!shownView || shownView === event.view) &&
          !table.querySelector('tr[data-order-id="' + event.order_id + '"]')) {
        var row = document.createElement("tr");
        row.dataset.orderId = event.order_id;
        row.className = "new";
        var cell = document.createElement("td");
        var link = document.createElement("a");
        link.href = "/orders/" + encodeURIComponent(event.order_id);
        link.textContent = event.order_id;
        cell.appendChild(link);
        row.appendChild(cell);
        var when = document.createElement("td");
        when.textContent = (event.at || "").slice(0, 16).replace("T", " ");
        row.appendChild(when);
        var status = document.createElement("td");
        status.colSpan = 6;
        status.textContent = "new · " + (event.status || "");
        row.appendChild(status);
        table.tBodies[0].insertBefore(row, table.tBodies[0].firstChild);
        table.parentElement.hidden = false;
      }
    } else if (live) {
      live.textContent = "Order " + event.order_id + " is now " + (event.status || "updated");
    }
  });
})();
