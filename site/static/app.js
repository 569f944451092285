// supportdesk: the little the pages need beyond htmx. Texts come from the server's
// pages (catalogs), never from here.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // A static page loads its content from the API; hand it the page's own query
  // (?lang=, ?reset=, ?department=) so the fragment answers for this address, and put
  // path parameters ({id}) where the URL expects them.
  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    if (detail.elt.id !== "page" || detail.verb !== "get") return;
    var query = new URLSearchParams(window.location.search);
    detail.path = detail.path.replace(/\{(\w+)\}/g, function (_, name) {
      var value = query.get(name) || "";
      query.delete(name);
      return encodeURIComponent(value);
    });
    query.forEach(function (value, key) { detail.parameters[key] = value; });
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
      notice.textContent = screen ? screen.getAttribute("data-offline")
        : "No pudimos contactar al servidor. / We could not reach the server.";
    }
  });

  // --- the message editor -------------------------------------------------------------
  var FORMATS = {
    bold: function (text) { return "**" + (text || "texto") + "**"; },
    italic: function (text) { return "_" + (text || "texto") + "_"; },
    heading: function (text) { return "## " + (text || ""); },
    code: function (text) {
      // Several lines become a block that keeps every space; a word becomes `code`.
      return text.indexOf("\n") >= 0 || !text ? "\n```\n" + text + "\n```\n" : "`" + text + "`";
    }
  };

  function format(textarea, kind) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    var value = textarea.value, selected = value.slice(start, end);
    if (kind === "heading") {
      start = value.lastIndexOf("\n", start - 1) + 1; // a heading starts its line
      selected = value.slice(start, end);
    }
    var replacement = FORMATS[kind](selected);
    textarea.setRangeText(replacement, start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-format], [data-fullscreen]");
    if (!button) return;
    var editor = button.closest("[data-editor]");
    var textarea = editor && editor.querySelector("textarea");
    if (!textarea) return;
    if (button.hasAttribute("data-format")) {
      format(textarea, button.getAttribute("data-format"));
    } else {
      var on = editor.classList.toggle("fullscreen");
      button.setAttribute("aria-pressed", on ? "true" : "false");
      textarea.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var editor = document.querySelector("[data-editor].fullscreen");
    if (!editor) return;
    editor.classList.remove("fullscreen");
    editor.querySelector("[data-fullscreen]").setAttribute("aria-pressed", "false");
  });

  // The seed's advice: a message too short to act on gets a hint.
  function coach(textarea) {
    var hint = document.querySelector(textarea.getAttribute("data-coach"));
    if (!hint) return;
    var text = textarea.value.trim();
    var words = text ? text.split(/\s+/).length : 0;
    var short = text.length > 0 && (text.length < Number(textarea.getAttribute("data-coach-chars")) ||
      words < Number(textarea.getAttribute("data-coach-words")));
    hint.hidden = !short;
  }

  // --- drafts: a reload or a failed submit loses nothing ----------------------------------
  function draftKey(form) { return "supportdesk-draft:" + form.getAttribute("data-draft"); }

  function saveDraft(form) {
    var fields = {};
    form.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (field) {
      if (field.type === "hidden" || field.name === "website") return;
      fields[field.name] = field.value;
    });
    try { localStorage.setItem(draftKey(form), JSON.stringify(fields)); } catch (e) { /* full or private */ }
  }

  function restoreDraft(form) {
    // A form the server sent back refused already holds what was typed.
    if (form.querySelector(".error")) return;
    var saved;
    try { saved = JSON.parse(localStorage.getItem(draftKey(form)) || "null"); } catch (e) { saved = null; }
    if (!saved) return;
    Object.keys(saved).forEach(function (name) {
      var field = form.elements[name];
      if (!field || field.readOnly || field.type === "hidden" || !field.tagName) return;
      var known = field.tagName !== "SELECT" ||
        Array.prototype.some.call(field.options, function (o) { return o.value === saved[name]; });
      if (known && (field.tagName === "SELECT" || !field.value)) field.value = saved[name];
    });
  }

  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (event.target.hasAttribute && event.target.hasAttribute("data-coach")) coach(event.target);
    if (form && form.hasAttribute("data-draft")) saveDraft(form);
  });
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-draft")) saveDraft(form);
  });

  // A form the server accepted has done its job: its draft goes.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (form && form.hasAttribute && form.hasAttribute("data-draft") && event.detail.xhr.status < 300) {
      try { localStorage.removeItem(draftKey(form)); } catch (e) { /* nothing kept */ }
    }
  });

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (element) {
      var moment = new Date(element.getAttribute("datetime"));
      if (isNaN(moment)) return;
      element.textContent = moment.toLocaleString(document.documentElement.lang || undefined,
        { dateStyle: "medium", timeStyle: "short" });
    });
  }

  document.addEventListener("htmx:load", function (event) {
    var root = event.detail.elt;
    if (!root.querySelectorAll) return;
    root.querySelectorAll("form[data-draft]").forEach(restoreDraft);
    root.querySelectorAll("textarea[data-coach]").forEach(coach);
    localTimes(root);
  });
})();
