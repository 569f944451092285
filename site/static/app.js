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
    var brand = document.querySelector("[data-provider]");
    if (heading) document.title = heading.textContent.trim() + (brand ? " · " + brand.getAttribute("data-provider") : "");
    // A notice (an expired session, a refused form) is shown where the reader's eyes are,
    // however far down the form they were writing; the form and its draft stay as they are.
    if (event.detail.target.id === "notice" && event.detail.target.scrollIntoView) {
      event.detail.target.scrollIntoView({ block: "start" });
    }
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
  // The sample word for Bold/Italic with nothing selected is the page's (data-sample-text).
  var FORMATS = {
    bold: function (text, sample) { return "**" + (text || sample) + "**"; },
    italic: function (text, sample) { return "_" + (text || sample) + "_"; },
    heading: function (text) { return "## " + (text || ""); },
    code: function (text) {
      // Several lines become a block that keeps every space; a word becomes `code`.
      return text.indexOf("\n") >= 0 || !text ? "\n```\n" + text + "\n```\n" : "`" + text + "`";
    }
  };

  function format(textarea, kind, sample) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    var value = textarea.value, selected = value.slice(start, end);
    if (kind === "heading") {
      start = value.lastIndexOf("\n", start - 1) + 1; // a heading starts its line
      selected = value.slice(start, end);
    }
    var replacement = FORMATS[kind](selected, sample);
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
      format(textarea, button.getAttribute("data-format"), editor.getAttribute("data-sample-text") || "text");
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

  // --- limits: a counter near the limit, counted as the server counts ----------------------
  // "utf8-bytes" (the message): the UTF-8 bytes of the text as htmx sends it (line breaks as
  // they are), so 40,000 "ñ" (80,000 bytes) are over 64 KB here as on the server. "chars"
  // (the subject): characters (code points) with the spaces collapsed, as the server keeps it.
  function measure(field) {
    var value = field.value;
    if (field.getAttribute("data-limit-unit") === "utf8-bytes") return new TextEncoder().encode(value).length;
    return Array.from(value.split(/\s+/).filter(Boolean).join(" ")).length;
  }

  function describedBy(field, id, on) {
    var ids = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (x) { return x && x !== id; });
    if (on) ids.push(id);
    if (ids.length) field.setAttribute("aria-describedby", ids.join(" "));
    else field.removeAttribute("aria-describedby");
  }

  // The live line speaks when the text crosses 80, 90 or 95 % of the limit, or the limit
  // itself; the visible counter follows every keystroke in silence.
  var SPOKEN_SHARES = [0.8, 0.9, 0.95];

  function count(field, speak) {
    var counter = document.querySelector(field.getAttribute("data-counter"));
    if (!counter) return;
    var limit = Number(field.getAttribute("data-limit"));
    var used = measure(field);
    var left = limit - used;
    var over = left < 0;
    var near = used >= SPOKEN_SHARES[0] * limit;
    var kind = over ? "data-text-over" : "data-text-left";
    var words = fill(counter.getAttribute(Math.abs(left) === 1 ? kind + "-one" : kind), { n: number(Math.abs(left), 0) });
    var invalid = counter.getAttribute("data-text-invalid");
    counter.textContent = over ? words + ". " + invalid : words;
    counter.hidden = !near;
    counter.classList.toggle("over", over);
    describedBy(field, counter.id, near);
    // Over the limit the field is invalid: the browser refuses Send and shows why; the text stays.
    field.setCustomValidity(over ? invalid : "");
    if (over) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("data-invalid-by-counter", "");
    } else if (field.hasAttribute("data-invalid-by-counter")) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("data-invalid-by-counter");
    }
    var level = over ? SPOKEN_SHARES.length + 1
      : SPOKEN_SHARES.filter(function (share) { return used >= share * limit; }).length;
    var before = field.getAttribute("data-counter-level");
    field.setAttribute("data-counter-level", String(level));
    var news = counter.nextElementSibling;
    if (speak && news && news.hasAttribute("data-counter-news") && before !== null && Number(before) !== level) news.textContent = level ? counter.textContent : "";
  }

  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-limit")) count(event.target, true);
  });

  // The forms ask the browser to check nothing (novalidate: its bubbles would speak the
  // browser's language, not the page's), so a field over its limit stops its form here; the
  // counter beside it already says why, and the text stays as it is.
  function overTheLimit(form) {
    var field = form && form.querySelector && form.querySelector("[data-invalid-by-counter]");
    if (field) field.focus();
    return Boolean(field);
  }

  document.addEventListener("submit", function (event) {
    if (overTheLimit(event.target)) event.preventDefault();
  }, true);

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var sends = event.detail.requestConfig && event.detail.requestConfig.verb !== "get";  // not the advice
    if (sends && elt && elt.closest && overTheLimit(elt.closest("form"))) event.preventDefault();
  });

  // A saved reply chosen in the list goes into the message where the cursor is.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.hasAttribute || !select.hasAttribute("data-insert-into")) return;
    var option = select.options[select.selectedIndex];
    var textarea = document.querySelector(select.getAttribute("data-insert-into"));
    if (!option || !option.value || !textarea) return;
    var body = option.getAttribute("data-body") || "";
    textarea.setRangeText(body, textarea.selectionStart, textarea.selectionEnd, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    select.value = "";
    textarea.focus();
  });

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

  // --- attachments: checked here first, then straight to S3, one row each ----------------
  // The limits and every text come from the page (data attributes the server wrote from its
  // own policy and catalogs); the server checks each file again.
  function csrfToken() {
    var holder = document.querySelector("[hx-headers]");
    try { return JSON.parse(holder.getAttribute("hx-headers"))["X-CSRF-Token"]; } catch (e) { return ""; }
  }

  // A POST to our API answered with JSON: {ok, data}.
  function post(address, body) {
    return fetch(address, { method: "POST", body: body, credentials: "same-origin",
                            headers: { "X-CSRF-Token": csrfToken() } })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      });
  }

  function fill(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (whole, key) {
      return key in values ? values[key] : whole;
    });
  }

  function number(value, digits) {
    return new Intl.NumberFormat(document.documentElement.lang || undefined,
      { maximumFractionDigits: digits }).format(value);
  }

  // "12 bytes", "3.4 KB", "1.2 MB" in the page's language, in the units of the limits
  // (1 KB = 1024 bytes); never "0.0 KB".
  function humanSize(list, bytes) {
    if (bytes < 1024) {
      return fill(list.getAttribute(bytes === 1 ? "data-text-byte" : "data-text-bytes"), { n: number(bytes, 0) });
    }
    if (bytes < 1024 * 1024) return fill(list.getAttribute("data-text-kb"), { n: number(bytes / 1024, 1) });
    return fill(list.getAttribute("data-text-mb"), { n: number(bytes / (1024 * 1024), 1) });
  }

  function extensionOf(name) {
    var dot = name.lastIndexOf(".");
    return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  }

  // Why the server would refuse this file, as a short reason (one line), or "" if it would not.
  function refusalOf(field, list, file, taken) {
    var allowed = (field.getAttribute("data-extensions") || "").split(",");
    var extension = extensionOf(file.name);
    if (allowed.indexOf(extension) < 0) {
      return extension ? fill(list.getAttribute("data-reason-type-not-allowed"), { ext: extension })
        : list.getAttribute("data-reason-no-type");
    }
    if (file.size <= 0) return list.getAttribute("data-reason-empty");
    if (file.size > Number(field.getAttribute("data-max-bytes"))) return list.getAttribute("data-reason-too-large");
    if (taken >= Number(field.getAttribute("data-max-files"))) return list.getAttribute("data-reason-too-many");
    return "";
  }

  // A long name is cut in its middle: its start and its end (the type) stay visible; the
  // whole name is in the row's text for screen readers and in the title on hover.
  function showName(holder, name) {
    var extension = extensionOf(name);
    var tail = extension && name.length > extension.length + 12 ? name.slice(-(extension.length + 6)) : "";
    var head = document.createElement("span");
    head.className = "upload-name-head";
    head.textContent = tail ? name.slice(0, name.length - tail.length) : name;
    holder.textContent = "";
    holder.title = name;
    holder.appendChild(head);
    if (!tail) return;
    var end = document.createElement("span");
    end.className = "upload-name-tail";
    end.textContent = tail;
    holder.appendChild(end);
  }

  // One row: the name (whole for screen readers and on hover, its end always visible), the
  // size, a progress bar, the state and a Remove button that names the file.
  function uploadRow(list, file) {
    var item = document.createElement("li");
    item.className = "upload";
    var name = document.createElement("span");
    name.className = "upload-name";
    showName(name, file.name);
    var size = document.createElement("span");
    size.className = "upload-size";
    size.textContent = humanSize(list, file.size);
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    var state = document.createElement("span");
    state.className = "upload-state";
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.setAttribute("data-remove-upload", "");
    remove.textContent = list.getAttribute("data-text-remove");
    remove.setAttribute("aria-label", fill(list.getAttribute("data-text-remove-named"), { name: file.name }));
    item.append(name, size, bar, state, remove);
    list.appendChild(item);
    return item;
  }

  // The live line says what changed to a file, once, not every percent of its progress.
  function tell(field, text) {
    var news = field.querySelector("[data-upload-news]");
    if (news) news.textContent = text;
  }

  function setState(field, item, kind, text) {
    item.classList.remove("done", "failed");
    if (kind) item.classList.add(kind);
    var state = item.querySelector(".upload-state");
    state.textContent = text;
    tell(field, item.querySelector(".upload-name").title + ": " + text);
  }

  function refuse(field, item, reason) {
    var list = field.querySelector("[data-upload-list]");
    item.querySelector("progress").hidden = true;
    setState(field, item, "failed", fill(list.getAttribute("data-text-refused"), { reason: reason }));
  }

  // The files that count against the limit: those on their way or ready, not the refused.
  function filesTaken(field) {
    return field.querySelectorAll(".upload:not(.failed)").length;
  }

  function uploadFiles(field, files) {
    var list = field.querySelector("[data-upload-list]");
    Array.prototype.forEach.call(files, function (file) {
      var item = uploadRow(list, file);
      var reason = refusalOf(field, list, file, filesTaken(field) - 1);
      if (reason) refuse(field, item, reason);
      else uploadOne(field, list, item, file);
    });
    field.querySelector("[data-add-more]").hidden = false;
  }

  function uploadOne(field, list, item, file) {
    var bar = item.querySelector("progress");
    item.querySelector(".upload-state").textContent = list.getAttribute("data-text-uploading");

    // The server's answer: its short reason when this page has one, else its own words.
    function fail(answer) {
      var data = (answer && answer.data) || {};
      var short = data.reason && list.getAttribute("data-reason-" + data.reason);
      if (data.reason === "type-not-allowed") short = fill(short, { ext: extensionOf(file.name) });
      if (short || data.error) { refuse(field, item, short || data.error); return; }
      bar.hidden = true;
      setState(field, item, "failed", list.getAttribute("data-text-failed"));
    }

    var ask = new FormData();
    ask.append("filename", file.name);
    ask.append("size", String(file.size));
    ask.append("content_type", file.type || "application/octet-stream");
    post("/api/uploads", ask)
      .then(function (answer) {
        if (!answer.ok) { fail(answer); return; }
        var upload = answer.data;
        var body = new FormData();
        Object.keys(upload.fields).forEach(function (key) { body.append(key, upload.fields[key]); });
        body.append("file", file);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", upload.url);
        xhr.upload.addEventListener("progress", function (event) {
          if (event.lengthComputable) bar.value = Math.round(100 * event.loaded / event.total);
        });
        xhr.addEventListener("load", function () {
          if (xhr.status >= 300) { fail(); return; }
          bar.value = 100;
          // The API checks the file now, so a refusal shows here, before anything is sent.
          var check = new FormData();
          check.append("key", upload.key);
          post("/api/uploads/checked", check).then(function (checked) {
            if (!checked.ok) { fail(checked); return; }
            var hidden = document.createElement("input");
            hidden.type = "hidden";
            hidden.name = "attachment";
            hidden.value = checked.data.token;
            item.appendChild(hidden);
            setState(field, item, "done", list.getAttribute("data-text-done"));
          }).catch(function () { fail(); });
        });
        xhr.addEventListener("error", function () { fail(); });
        xhr.send(body);
      })
      .catch(function () { fail(); });
  }

  function attachmentsOf(element) {
    var form = element.closest("form");
    return form && form.querySelector("[data-attachments]");
  }

  // Rows the server sent back (a refused form keeps its files) get their size in words too.
  function sizeRows(root) {
    root.querySelectorAll("[data-upload-list] .upload[data-size]").forEach(function (item) {
      var list = item.closest("[data-upload-list]");
      item.querySelector(".upload-size").textContent = humanSize(list, Number(item.getAttribute("data-size")));
      var name = item.querySelector(".upload-name");
      showName(name, name.title);
    });
  }

  document.addEventListener("change", function (event) {
    if (!event.target.hasAttribute || !event.target.hasAttribute("data-file-input")) return;
    uploadFiles(attachmentsOf(event.target), event.target.files);
    event.target.value = "";
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.hasAttribute && target.hasAttribute("data-remove-upload")) {
      var field = attachmentsOf(target);
      var item = target.closest("li");
      // The focus stays in the field: on the next row's Remove, or on the file chooser.
      var next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      var focus = next ? next.querySelector("[data-remove-upload]") : field.querySelector("[data-file-input]");
      if (focus) focus.focus();
    } else if (target.hasAttribute && target.hasAttribute("data-add-more")) {
      // "+ Add More": one more file chooser; what it picks joins the list.
      var more = attachmentsOf(target);
      var chooser = document.createElement("input");
      chooser.type = "file";
      chooser.multiple = true;
      chooser.accept = more.querySelector("[data-file-input]").accept;
      chooser.addEventListener("change", function () { uploadFiles(more, chooser.files); });
      chooser.click();
    }
  });

  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    // Leaving a child of the zone for another is no leaving of the zone.
    if (zone && !(event.relatedTarget && zone.contains(event.relatedTarget))) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    uploadFiles(attachmentsOf(zone), event.dataTransfer.files);
  });

  // A screenshot pasted into the message becomes an attachment.
  document.addEventListener("paste", function (event) {
    var field = event.target.form && attachmentsOf(event.target);
    var items = event.clipboardData && event.clipboardData.files;
    if (!field || !items || !items.length) return;
    var images = Array.prototype.filter.call(items, function (f) { return f.type.indexOf("image/") === 0; });
    if (!images.length) return;
    event.preventDefault();
    var stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15);
    var stem = field.getAttribute("data-screenshot-name") || "screenshot"; // in the page's language
    uploadFiles(field, images.map(function (image, n) {
      var extension = (image.type.split("/")[1] || "png").replace("jpeg", "jpg");
      return new File([image], stem + "-" + stamp + (n ? "-" + n : "") + "." + extension, { type: image.type });
    }));
  });

  // A form is not sent while its files are still on their way.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt;
    if (form.tagName !== "FORM" || !form.querySelector(".upload:not(.done):not(.failed)")) return;
    event.preventDefault();
    var notice = document.getElementById("notice");
    var field = form.querySelector("[data-attachments]");
    if (notice && field) notice.textContent = field.getAttribute("data-text-wait");
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
    root.querySelectorAll("[data-limit]").forEach(function (field) { count(field, false); });
    sizeRows(root);
    localTimes(root);
  });

  // --- the header's menus (details elements: they work without this) -------------------
  // Escape closes the open one and gives the focus back to its toggle; a click elsewhere
  // closes them all.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = event.target.closest && event.target.closest("details[data-menu][open]");
    if (!open) return;
    open.open = false;
    open.querySelector("summary").focus();
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  // --- feedback: where the focus goes after an action, and errors by their form --------
  // After htmx swaps part of the page, focus never falls to <body>: it goes to what the
  // action said (the banner), else to the first field in error, else to the step the page
  // asks for (data-focus), else to the swapped region's heading. A swap that did not take
  // the focused element away (a list filtered while typing, a part loaded by itself) leaves
  // the focus where it is; a page's first load, and a swap that shows another screen (its
  // address pushed: a login, a new ticket), start at the top, where the skip link is, as any
  // page load does, unless a banner speaks.
  function focusTarget(root) {
    return root.querySelector("[data-feedback]") || root.querySelector("[aria-invalid=true]") ||
      root.querySelector("[data-focus]") || root.querySelector("h1") || root.querySelector("h2");
  }

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected;
  }

  // Whether the element that had the focus when the request left (a button disabled while
  // it runs has lost it since) is in the region its answer replaces.
  var focusedAtRequest = new WeakMap();
  var swappedFocus = false;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.xhr) focusedAtRequest.set(event.detail.xhr, document.activeElement);
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = focusedAtRequest.get(event.detail.xhr);
    swappedFocus = Boolean(event.detail.target && active && active !== document.body &&
      event.detail.target.contains(active));
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var region = event.detail.target;
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!region || !region.isConnected) region = document.getElementById("main");
    if (!region || !region.querySelector || region.id === "notice") return;
    var said = region.querySelector("[data-feedback], [data-form-notice]");
    var xhr = event.detail.xhr;
    var newScreen = (source && source.id === "page" && region.id === "page") ||
      (xhr && xhr.getResponseHeader("HX-Push-Url"));
    var lost = swappedFocus && focusLost();
    swappedFocus = false;
    if (!said && (newScreen || !lost)) return;
    var target = said || focusTarget(region);
    if (!target) return;
    if (!target.matches("a[href], button, input, select, textarea, [tabindex]")) target.setAttribute("tabindex", "-1");
    target.focus();
  });

  // A refusal of a form (an expired session, a form too large, a failure on our side) is
  // shown by the form's own button, where the reader is, instead of at the top of the page;
  // the form and its draft stay as they are, and the focus goes to the message.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var elt = detail.requestConfig && detail.requestConfig.elt;
    var form = elt && elt.closest && elt.closest("form");
    if (!detail.target || detail.target.id !== "notice" || !form || !form.isConnected) return;
    var slot = form.querySelector("[data-form-notice]");
    if (!slot) {
      slot = document.createElement("div");
      slot.className = "form-notice";
      slot.setAttribute("data-form-notice", "");
      slot.setAttribute("tabindex", "-1");
      var button = form.querySelector("button[type=submit]");
      if (button) button.parentNode.insertBefore(slot, button); else form.appendChild(slot);
    }
    detail.target = slot;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var slot = event.detail.target;
    if (slot && slot.hasAttribute && slot.hasAttribute("data-form-notice")) slot.focus();
  });
  // A new request of the form clears what the last one said.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form");
    var slot = form && form.querySelector("[data-form-notice]");
    if (slot) slot.remove();
  });
})();
