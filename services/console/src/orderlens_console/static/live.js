// Live updates of the orders page from the console's relay of GET /v1/orders/stream
// (docs/decisions/0103): a new order is announced, added on top of the table when it belongs
// to the tab shown, and the affected tab's badge counts up. A status change updates its row in
// place and moves it: out of a tab it no longer belongs to, one badge down, the other up. An
// order not on the page has no known former tab, so only its new tab's badge counts up. No
// reload.
(function () {
  "use strict";
  // A filter change, a tab or a sort is a full page load (docs/decisions/0100): say so at once,
  // the slow part is query-api's answer.
  var loading = document.getElementById("loading");
  function busy() {
    document.body.setAttribute("aria-busy", "true");
    if (loading) loading.hidden = false;
  }
  var filters = document.getElementById("filters");
  if (filters) filters.addEventListener("submit", busy);
  document.querySelectorAll("nav.tabs a, table.orders thead a").forEach(function (a) {
    a.addEventListener("click", busy);
  });
  if (!window.EventSource) return;
  var live = document.getElementById("live");
  var table = document.querySelector("table.orders");
  var shownView = table ? table.dataset.view : "";
  var labels = {};
  try { labels = JSON.parse((table && table.dataset.labels) || "{}"); } catch (e) { labels = {}; }
  // The page's zone (the shop's or the user's), like the server-rendered rows: never raw UTC.
  var zone = (table && table.dataset.zone) || "UTC";
  function localTime(at) {
    var moment = new Date(at || "");
    if (isNaN(moment.getTime())) return "";
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
    }).formatToParts(moment).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" +
      parts.minute + " " + (parts.timeZoneName || zone);
  }
  function bump(view, by) {
    var badge = view && document.querySelector('[data-count="' + view + '"]');
    if (!badge) return;
    var n = parseInt(badge.textContent, 10);
    badge.textContent = String(Math.max(0, (isNaN(n) ? 0 : n) + by));
    badge.parentElement.classList.add("updated");
  }
  var source = new EventSource("/orders/stream");
  source.addEventListener("ready", function () {
    document.body.dataset.live = "ready";
  });
  source.addEventListener("order", function (message) {
    var event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    var row = table && table.querySelector('tr[data-order-id="' + event.order_id + '"]');
    if (event.kind === "status_changed" && row) {
      moveRow(row, event);
      return;
    }
    bump(event.view, 1);
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
        var time = document.createElement("time");
        time.dateTime = event.at || "";
        time.textContent = localTime(event.at);
        when.appendChild(time);
        row.appendChild(when);
        var status = document.createElement("td");
        status.colSpan = 6;
        status.textContent = "new · " + (labels[event.status] || event.status || "");
        row.appendChild(status);
        table.tBodies[0].insertBefore(row, table.tBodies[0].firstChild);
        table.parentElement.hidden = false;
      }
    } else if (live) {
      live.textContent = "Order " + event.order_id + " is now " + (event.status || "updated");
    }
  });
  function moveRow(row, event) {
    if (!event.status) return;  // a return or package update: the row's tab is unchanged
    var label = labels[event.status] || event.status;
    var cell = row.querySelector("td.status");
    if (cell) {
      cell.textContent = label;
      cell.dataset.status = event.status;
    }
    var former = row.dataset.view;
    if (event.view && former !== event.view) {
      bump(former, -1);
      bump(event.view, 1);
      row.dataset.view = event.view;
      if (shownView && shownView !== event.view) row.remove();
    }
    if (live) live.textContent = "Order " + event.order_id + " is now " + label;
  }
})();
