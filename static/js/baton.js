// Behaviour every page shares, kept out of the HTML so the Content Security Policy allows no inline script.
(function () {
  // Let htmx swap validation errors (422) in place instead of ignoring them.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 422) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });
  document.addEventListener("click", function (event) {
    // <button data-print>: print the page.
    if (event.target.closest("[data-print]")) { window.print(); return; }
    // The token just issued: copy it.
    const copy = event.target.closest("#copy-token");
    if (copy) {
      const field = document.getElementById("issued-token-value");
      field.select();
      const done = function () { copy.textContent = "Copied"; };
      if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(done); } else { document.execCommand("copy"); done(); }
    }
  });
  // <form data-confirm="Question?">: ask before submitting.
  document.addEventListener("submit", function (event) {
    const question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
