// The inbox's live part: a new text pops (a toast, the tab title's count,
// and a notification where the user allowed them) as soon as the server's
// alert stream sends it; and the hand-off dialog with its name search.
"use strict";
(function () {
  var toasts = document.querySelector("[data-alerts]");
  var dialog = document.getElementById("handoff");

  // The hand-off dialog: a modal over the page when the script runs, else
  // the link opens it as a page of its own.
  document.querySelectorAll("[data-open-dialog]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (dialog && dialog.showModal) {
        event.preventDefault();
        if (dialog.open) dialog.close();
        dialog.showModal();
        var search = dialog.querySelector("[data-filter]");
        if (search) search.focus();
      }
    });
  });
  if (dialog && dialog.open && dialog.showModal) {
    dialog.close();
    dialog.showModal();
  }
  document.querySelectorAll("[data-close-dialog]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (dialog && dialog.open) {
        event.preventDefault();
        dialog.close();
      }
    });
  });
  document.querySelectorAll("[data-filter]").forEach(function (input) {
    var box = document.getElementById(input.getAttribute("data-filter"));
    var none = box.querySelector("[data-none]");
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      box.querySelectorAll("[data-name]").forEach(function (choice) {
        var name = choice.getAttribute("data-name").toLowerCase();
        var match = words.every(function (w) { return name.indexOf(w) >= 0; });
        choice.hidden = !match;
        if (match) shown += 1;
      });
      none.hidden = shown > 0;
    });
  });

  if (!toasts || !window.EventSource) return;
  var title = toasts.getAttribute("data-title");
  var unread = parseInt(toasts.getAttribute("data-unread"), 10) || 0;
  var url = toasts.getAttribute("data-alerts");
  var lastId = null;
  var seen = {};
  var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  var ask = document.querySelector("[data-notify]");
  if (ask && "Notification" in window && Notification.permission === "default") {
    ask.hidden = false;
    ask.querySelector("button").addEventListener("click", function () {
      Notification.requestPermission().then(function () { ask.hidden = true; });
    });
  }

  function element(tag, className, text) {
    var made = document.createElement(tag);
    if (className) made.className = className;
    if (text) made.textContent = text;
    return made;
  }

  function listed(pop) {
    var list = document.getElementById("inbox-list");
    if (!list) return;
    var item = element("li", "unread");
    var link = element("a");
    link.href = pop.url;
    var who = element("span", "who", pop.sender + " ");
    who.appendChild(element("span", "new", "New"));
    link.appendChild(who);
    var at = new Date(pop.received_at);
    link.appendChild(element("span", "t", isNaN(at.getTime()) ? "" : format.format(at)));
    link.appendChild(element("span", "quote", pop.body));
    if (pop.handed_by) {
      link.appendChild(element("span", "handed", "Handed to you by " + pop.handed_by +
        (pop.note ? ": \u201c" + pop.note + "\u201d" : "")));
    }
    item.appendChild(link);
    list.insertBefore(item, list.firstChild);
    list.hidden = false;
    var empty = document.getElementById("inbox-empty");
    if (empty) empty.remove();
  }

  function toast(pop) {
    var shown = element("div", "toast");
    var link = element("a");
    link.href = pop.url;
    link.appendChild(element("strong", "",
      (pop.handed_by ? pop.handed_by + " handed you a text from " : "New text from ") + pop.sender));
    link.appendChild(element("span", "quote", pop.body));
    shown.appendChild(link);
    var close = element("button", "link", "Dismiss");
    close.type = "button";
    close.addEventListener("click", function () { shown.remove(); });
    shown.appendChild(close);
    shown.setAttribute("data-message-id", pop.message_id);
    shown.setAttribute("data-shown-at", String(Date.now()));
    toasts.appendChild(shown);
    while (toasts.children.length > 3) toasts.removeChild(toasts.firstChild);
  }

  function notify(pop) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    var shown = new Notification("Text from " + pop.sender, {
      body: (pop.handed_by ? "Handed over by " + pop.handed_by + ". " : "") + pop.body,
      tag: pop.message_id,
    });
    shown.onclick = function () { window.focus(); window.location.href = pop.url; };
  }

  function popped(event) {
    lastId = event.lastEventId || lastId;
    var pop = JSON.parse(event.data);
    if (seen[event.lastEventId]) return;
    seen[event.lastEventId] = true;
    unread += 1;
    document.title = "(" + unread + ") " + title;
    var counted = document.querySelector("[data-unread-count]");
    if (counted) {
      counted.textContent = unread + " unread";
      counted.hidden = false;
    }
    listed(pop);
    toast(pop);
    notify(pop);
  }

  // The browser reconnects on its own, sending Last-Event-ID; when it gives
  // up (the server answered an error), try again from the last alert seen.
  function listen(from) {
    var source = new EventSource(from);
    source.addEventListener("pop", popped);
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        var again = lastId ? url.replace(/after=\d+/, "after=" + lastId) : url;
        setTimeout(function () { listen(again); }, 5000);
      }
    };
  }
  listen(url);
})();
