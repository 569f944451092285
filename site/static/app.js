// supportdesk: the little the pages need beyond htmx.
(function () {
  "use strict";

  // A static page loads its content from the API; hand it the page's own query
  // (?lang=, ?reset=, a ticket's id) so the fragment answers for this address.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.id === "page" && event.detail.verb === "get") {
      new URLSearchParams(window.location.search).forEach(function (value, key) {
        event.detail.parameters[key] = value;
      });
    }
  });

  document.addEventListener("htmx:beforeRequest", function () {
    var notice = document.getElementById("notice");
    if (notice) notice.textContent = "";
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var language = event.detail.xhr && event.detail.xhr.getResponseHeader("Content-Language");
    if (language) document.documentElement.lang = language;
    var heading = event.detail.target.querySelector && event.detail.target.querySelector("h1");
    if (heading) document.title = heading.textContent.trim() + " · supportdesk";
  });

  // The server could not be reached: say so, and leave the form as it is.
  document.addEventListener("htmx:sendError", function () {
    var notice = document.getElementById("notice");
    var screen = document.querySelector("[data-offline]");
    if (notice) {
      // The text comes from the server's catalogs with the page; before any page
      // arrived, both languages.
      notice.textContent = screen ? screen.getAttribute("data-offline")
        : "No pudimos contactar al servidor. / We could not reach the server.";
    }
  });
})();
