// The zone pickers' suggestions (a datalist: any IANA name may be typed): the ~440 names are
// asked once, when a zone field first gets focus, instead of being sent with every page
// (docs/decisions/0201). /time-zones.json is cached by the browser for a day.
(function () {
  "use strict";
  var list = document.getElementById("zone-names");
  if (!list) return;
  var asked = false;
  document.addEventListener("focusin", function (event) {
    var field = event.target;
    if (asked || !field || !field.getAttribute || field.getAttribute("list") !== "zone-names") {
      return;
    }
    asked = true;
    fetch("/time-zones.json", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (names) {
        var options = document.createDocumentFragment();
        names.forEach(function (name) {
          var option = document.createElement("option");
          option.value = name;
          options.appendChild(option);
        });
        list.appendChild(options);
      })
      .catch(function () { asked = false; });
  });
})();
