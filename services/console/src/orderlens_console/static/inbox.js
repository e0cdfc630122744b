// The inbox badge in the nav: the unread count of the signed-in user, asked once per page.
(function () {
  var badge = document.getElementById("inbox-badge");
  if (!badge) return;
  fetch("/inbox/unread", { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (body) {
      if (!body || body.unread == null) return;
      badge.textContent = String(body.unread);
      badge.dataset.unread = String(body.unread);
      badge.hidden = body.unread === 0;
      badge.setAttribute("aria-label", body.unread + " unread");
    })
    .catch(function () {});
})();
