// Keyboard shortcuts for the desk; every action is also a plain form, so the pages work
// without this file. j/k move, p/r publish/reject the current story, P/R the whole cluster,
// o opens the original article, Enter the story page. The newest page of the log refreshes
// itself every few seconds (new events appear while a run is going).
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-story]"));
  var cur = items.length === 1 ? 0 : -1;
  function select(i) {
    if (i < 0 || i >= items.length) { return; }
    if (items[cur]) { items[cur].classList.remove("current"); }
    cur = i;
    items[cur].classList.add("current");
    items[cur].scrollIntoView({ block: "nearest" });
  }
  function press(scope, selector) {
    var button = scope && scope.querySelector(selector);
    if (button) { button.click(); }
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || tag === "BUTTON") { return; }
    var story = items[cur];
    var cluster = story && story.closest("[data-cluster]");
    var actions = {
      j: function () { select(cur + 1); },
      k: function () { select(cur < 0 ? 0 : cur - 1); },
      p: function () { press(story, "form.one button.publish"); },
      r: function () { press(story, "form.one button.reject"); },
      P: function () { press(cluster, "form.all button.publish"); },
      R: function () { press(cluster, "form.all button.reject"); },
      o: function () {
        if (story && story.dataset.url) { window.open(story.dataset.url, "_blank", "noopener,noreferrer"); }
      },
      Enter: function () {
        var link = story && story.querySelector("a.open");
        if (link) { window.location.href = link.href; }
      }
    };
    var act = actions[e.key];
    if (act) { e.preventDefault(); act(); }
  });

  // Live log: re-reads this same page and swaps the region the server marked as live.
  var live = document.querySelector("[data-live]");
  if (live && window.fetch && window.DOMParser) {
    var every = parseInt(live.dataset.live, 10) || 3000;
    var refresh = function () {
      if (document.hidden) { return; }
      window.fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (text) {
          if (!text) { return; }
          var fresh = new window.DOMParser().parseFromString(text, "text/html").querySelector("[data-live]");
          var current = document.querySelector("[data-live]");
          if (fresh && current) { current.replaceWith(document.importNode(fresh, true)); }
        })
        .catch(function () { /* the next tick tries again */ });
    };
    window.setInterval(refresh, every);
  }
}());
