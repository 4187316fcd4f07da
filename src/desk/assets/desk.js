// Keyboard shortcuts for the desk; every action is also a plain form, so the pages work
// without this file. j/k move, p/r publish/reject the current story, P/R the whole cluster,
// o opens the original article, Enter the story page. The newest page of the log follows new
// events as a run goes (server-sent events, or polling every few seconds without them).
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

  // Live log: new events arrive as server-sent events (the server renders and escapes each
  // row; they are parsed with DOMParser, which runs no script, and imported). Without
  // EventSource, or when the stream fails before it ever opened, the page re-reads itself
  // every few seconds and swaps the region the server marked as live.
  var live = document.querySelector("[data-live]");
  var poll = function () {
    if (!live || !window.fetch || !window.DOMParser) { return; }
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
    document.documentElement.dataset.liveMode = "polling";
    window.setInterval(refresh, every);
  };
  var rowsOf = function (html) {
    var doc = new window.DOMParser().parseFromString("<table><tbody>" + html + "</tbody></table>", "text/html");
    var body = doc.querySelector("tbody");
    return body ? Array.prototype.slice.call(body.children) : [];
  };
  var follow = function (url) {
    var events = document.getElementById("events");
    var runs = document.getElementById("runs");
    var opened = false;
    var source = new window.EventSource(url);
    source.onopen = function () {
      opened = true;
      document.documentElement.dataset.liveMode = "events";
    };
    source.addEventListener("row", function (m) {
      rowsOf(m.data).forEach(function (row) {
        var id = row.getAttribute("data-id");
        if (id && events.querySelector("tr[data-id=\"" + id + "\"]")) { return; }
        events.insertBefore(document.importNode(row, true), events.firstChild);
      });
      var none = document.getElementById("no-events");
      if (none) { none.hidden = true; }
    });
    source.addEventListener("runs", function (m) {
      if (!runs) { return; }
      runs.replaceChildren.apply(runs, rowsOf(m.data).map(function (r) { return document.importNode(r, true); }));
    });
    source.addEventListener("gap", function () {
      source.close();
      window.location.reload();
    });
    source.onerror = function () {
      // Before the first open: no stream here (refused, or a proxy in the way); poll instead.
      // After it: EventSource reconnects by itself with Last-Event-ID.
      if (!opened || source.readyState === window.EventSource.CLOSED) {
        source.close();
        poll();
      }
    };
  };
  if (live && live.dataset.events && window.EventSource && window.DOMParser && document.getElementById("events")) {
    follow(live.dataset.events);
  } else {
    poll();
  }

  // Fetch now: with script, the run's progress streams into the page (NDJSON, one line per
  // event); without, the form posts and the page says the run was queued.
  var progress = document.getElementById("progress");
  var describe = function (line) {
    switch (line.event) {
      case "queued": return "queued";
      case "started": return "run " + line.run_id + " started: " + line.sources + " source(s)";
      case "source_done":
        var r = line.report || {};
        var c = r.counts || {};
        return (r.name || "source") + ": " + r.status + ", " + (c.items || 0) + " item(s), " +
          (c.stored || 0) + " stored, " + (c.duplicates || 0) + " duplicate(s), " +
          (c.off_topic || 0) + " off topic, " + (c.failed || 0) + " failed";
      case "finished":
        var t = (line.report && line.report.counts) || {};
        return "finished: " + (t.stored || 0) + " stored";
      case "error": return "error: " + line.error;
      default: return line.event;
    }
  };
  Array.prototype.forEach.call(document.querySelectorAll("form.fetch"), function (form) {
    form.addEventListener("submit", function (e) {
      if (!progress || !window.fetch || !window.TextDecoder) { return; }
      e.preventDefault();
      var source = form.querySelector("input[name=source]");
      var url = "/desk/fetch/stream" + (source ? "?source=" + encodeURIComponent(source.value) : "");
      var csrf = form.querySelector("input[name=csrf]").value;
      progress.hidden = false;
      progress.textContent = "";
      var add = function (text, cls) {
        var li = document.createElement("li");
        li.textContent = text;
        if (cls) { li.className = cls; }
        progress.appendChild(li);
      };
      window.fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } })
        .then(function (resp) {
          if (!resp.ok || !resp.body) { add("refused: HTTP " + resp.status, "error"); return null; }
          var reader = resp.body.getReader();
          var decoder = new window.TextDecoder();
          var buffered = "";
          var pump = function () {
            return reader.read().then(function (chunk) {
              buffered += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
              var lines = buffered.split("\n");
              buffered = lines.pop();
              lines.filter(function (l) { return l.trim() !== ""; }).forEach(function (l) {
                var line;
                try { line = JSON.parse(l); } catch (err) { add("unreadable progress line", "error"); return; }
                add(describe(line), line.event === "error" ? "error" : line.event);
              });
              return chunk.done ? null : pump();
            });
          };
          return pump();
        })
        .catch(function (err) { add("connection lost: " + err, "error"); });
    });
  });
}());
