/* Search page: submit on sort change; "back to results" uses history when there is one. */
(function () {
  "use strict";
  document.querySelectorAll("[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
})();
