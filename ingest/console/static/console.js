// wirewatch console: the events list asks the server for its rows every few seconds and swaps them in when the
// set of events changed. The rows are HTML the server rendered and escaped; no inline script is needed (the
// Content-Security-Policy forbids it), and no text from a post is ever evaluated.
(function () {
  "use strict";

  function ids(tbody) {
    return Array.prototype.map.call(tbody.querySelectorAll("tr[data-event-id]"), function (tr) {
      return tr.getAttribute("data-event-id");
    });
  }

  function startPolling(tbody) {
    var url = tbody.getAttribute("data-poll-url");
    var every = parseInt(tbody.getAttribute("data-poll-ms"), 10) || 15000;
    var status = document.getElementById("live-status");
    var last = tbody.innerHTML;
    var busy = false;

    function tick() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.text();
        })
        .then(function (html) {
          var parsed = new DOMParser().parseFromString("<table><tbody>" + html + "</tbody></table>", "text/html");
          var fresh = parsed.querySelector("tbody");
          if (!fresh || fresh.innerHTML === last) return;
          var before = ids(tbody);
          last = fresh.innerHTML;
          tbody.replaceChildren.apply(tbody, Array.prototype.slice.call(fresh.childNodes));
          var added = 0;
          Array.prototype.forEach.call(tbody.querySelectorAll("tr[data-event-id]"), function (tr) {
            if (before.indexOf(tr.getAttribute("data-event-id")) < 0) {
              tr.classList.add("new");
              added += 1;
            }
          });
          if (status) {
            status.textContent = "Live: updated " + new Date().toISOString().slice(11, 19) + " UTC" +
              (added ? " (" + added + " new)" : "");
          }
        })
        .catch(function () {
          if (status) status.textContent = "Live: the console is unreachable, retrying.";
        })
        .finally(function () {
          busy = false;
        });
    }

    window.setInterval(tick, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var tbody = document.getElementById("event-rows");
    if (tbody && tbody.getAttribute("data-poll-url")) startPolling(tbody);
  });
})();
