// The buyer pages' script (decision 0180, 0181). Without it every page still works; with it:
// - the link landing page sends the browser's time zone, so times are shown in it;
// - an open order page follows its buyer-scoped stream and, when the order changes (a new
//   carrier checkpoint, a new status), fetches the page again and swaps the tracking part in
//   place: no reload, focus and scroll are kept;
// - the order center does the same with the stream of all the buyer's orders: its rows and its
//   tab counts are one part, so a status change moves both together (decision 0216).
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  document.querySelectorAll("input[data-browser-tz]").forEach(function (input) {
    if (zone) input.value = zone;
  });

  var streamUrl = document.body.dataset.stream;
  if (!streamUrl || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var live = document.getElementById("live");
  // query-api streams the event as soon as it is on Kafka; order-ingest may store it a moment
  // later (seconds, on a busy machine). So a refresh that still shows the old part is tried
  // again, spaced out, for about half a minute; an event order-ingest ignores ends there.
  var RETRIES = [250, 500, 1000, 2000, 3000, 4000, 4000, 4000, 4000, 4000, 4000];
  var pending = null;
  function part(doc) { return doc.getElementById("live-part"); }
  // What the server last sent, before this script marked anything new: the next fetch is
  // compared with it, not with the marked-up page.
  var shown = part(document) ? part(document).innerHTML : "";

  function refresh(attempt) {
    // The same page the buyer is on: its tab and page of orders (the query) included.
    fetch(window.location.pathname + window.location.search, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var fresh = part(new DOMParser().parseFromString(html, "text/html"));
        var current = part(document);
        if (!fresh || !current) return;
        if (fresh.innerHTML === shown) {
          if (attempt < RETRIES.length) pending = setTimeout(function () { refresh(attempt + 1); }, RETRIES[attempt]);
          return;
        }
        var known = {};
        current.querySelectorAll("li.checkpoint time").forEach(function (t) { known[t.dateTime + "|" + t.parentNode.textContent] = true; });
        shown = fresh.innerHTML;
        // A link the buyer had focused (a tab, an order) keeps the focus in the new part.
        var focused = document.activeElement;
        var href = focused && current.contains(focused) ? focused.getAttribute("href") : null;
        current.replaceWith(fresh);
        if (href) {
          var again = Array.prototype.find.call(fresh.querySelectorAll("a[href]"), function (a) { return a.getAttribute("href") === href; });
          if (again) again.focus();
        }
        var added = 0;
        fresh.querySelectorAll("li.checkpoint").forEach(function (li) {
          var t = li.querySelector("time");
          if (t && !known[t.dateTime + "|" + li.textContent]) { li.classList.add("new"); added += 1; }
        });
        document.body.dataset.updated = String(Number(document.body.dataset.updated || "0") + 1);
        if (live) live.textContent = added ? "New tracking update" : (live.dataset.message || "Order updated");
      })
      .catch(function () {
        if (attempt < RETRIES.length) pending = setTimeout(function () { refresh(attempt + 1); }, RETRIES[attempt]);
      });
  }

  var source = new EventSource(streamUrl);
  source.addEventListener("ready", function () { document.body.dataset.live = "ready"; });
  source.addEventListener("order", function () {
    if (pending) clearTimeout(pending);
    refresh(0);
  });
})();
