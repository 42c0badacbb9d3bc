// After a form fails, move the focus to its error summary: a screen reader then reads what went
// wrong at once, and a keyboard user starts from the links to the fields (WCAG 3.3.1, 4.1.3).
(function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
})();
