// Live updates of the Ai:oS dashboard from the server's event stream (GET /api/events).
// No framework: a page marks what can change with ids (run-<id>, dag-<step>, step-<step>,
// run-status) and this script changes their status classes and text as events arrive.
(function () {
  "use strict";
  const body = document.body;
  if (body.dataset.live !== "1" || !window.EventSource) return;
  const runId = body.dataset.runId || "";
  const indicator = document.getElementById("live");
  // Events since the page was drawn are replayed first; a reconnect sends Last-Event-ID.
  const query = ["after=" + encodeURIComponent(body.dataset.eventsAfter || "0")];
  if (runId) query.push("run_id=" + encodeURIComponent(runId));
  const url = "/api/events?" + query.join("&");
  const active = new Set(Array.prototype.map.call(
    document.querySelectorAll("tr[data-active='1']"), function (tr) { return tr.dataset.run; }));

  function setLive(on) {
    if (!indicator) return;
    indicator.classList.toggle("on", on);
    indicator.classList.toggle("off", !on);
    indicator.title = on ? "live updates: on" : "live updates: reconnecting";
    body.dataset.liveConnected = on ? "1" : "0";
  }

  function badge(status) {
    const span = document.createElement("span");
    span.className = "badge st-" + status;
    span.textContent = status;
    return span;
  }

  function setBadge(container, status) {
    if (!container) return;
    const old = container.querySelector(".badge");
    if (old) old.replaceWith(badge(status)); else container.prepend(badge(status));
  }

  function short(id) { return id.slice(0, 12); }

  function addRunRow(data) {
    const tbody = document.getElementById("runs-body");
    if (!tbody || document.getElementById("run-" + data.run_id)) return false;
    const empty = tbody.querySelector("tr.empty");
    if (empty) empty.remove();
    const tr = document.createElement("tr");
    tr.id = "run-" + data.run_id;
    tr.dataset.run = data.run_id;
    tr.className = "fresh";
    const link = document.createElement("a");
    link.className = "mono";
    link.href = "/runs/" + data.run_id;
    link.textContent = short(data.run_id);
    const cells = [link, data.target, data.steps.length === 1 && data.steps[0] === data.target
                   ? "action" : "sequence", badge("running"), "just now", "-"];
    cells.forEach(function (value, i) {
      const td = document.createElement("td");
      if (i === 3) td.className = "run-status";
      if (value instanceof Node) td.appendChild(value); else td.textContent = value;
      tr.appendChild(td);
    });
    tbody.prepend(tr);
    return true;
  }

  function runStatus(runIdValue, status) {
    const row = document.getElementById("run-" + runIdValue);
    if (row) setBadge(row.querySelector(".run-status"), status);
    if (runIdValue === runId) {
      const badgeEl = document.getElementById("run-status");
      if (badgeEl) {
        badgeEl.className = "badge st-" + status;
        badgeEl.textContent = status;
      }
    }
  }

  function addStepRow(data) {
    // A step that had not started when the page was drawn gets its row now.
    const tbody = document.getElementById("steps-body");
    if (!tbody) return null;
    const empty = tbody.querySelector("tr.empty");
    if (empty) empty.remove();
    const tr = document.createElement("tr");
    tr.id = "step-" + data.step_id;
    tr.className = "fresh";
    [["mono", data.step_id], ["", data.action], ["step-status", ""], ["", "1"],
     ["step-duration", "-"], ["", ""]].forEach(function (cell) {
      const td = document.createElement("td");
      if (cell[0]) td.className = cell[0];
      td.textContent = cell[1];
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
    return tr;
  }

  function stepStatus(data, status) {
    if (data.run_id !== runId) return;
    const node = document.getElementById("dag-" + data.step_id);
    if (node) {
      node.setAttribute("class", (node.getAttribute("class") || "")
        .replace(/\bst-[a-z]+/g, "").trim() + " st-" + status);
      const label = node.querySelector(".dag-status");
      if (label) label.textContent = status;
    }
    const row = document.getElementById("step-" + data.step_id) || addStepRow(data);
    if (row) {
      setBadge(row.querySelector(".step-status"), status);
      if (data.duration_ms !== undefined) {
        const cell = row.querySelector(".step-duration");
        if (cell) cell.textContent = data.duration_ms >= 1000
          ? (data.duration_ms / 1000).toFixed(2) + " s" : data.duration_ms.toFixed(1) + " ms";
      }
    }
  }

  function bump(id, delta) {
    const el = document.getElementById(id);
    if (el && /^\d+$/.test(el.textContent.trim())) {
      el.textContent = String(Math.max(0, parseInt(el.textContent, 10) + delta));
    }
  }

  const source = new EventSource(url);
  source.onopen = function () { setLive(true); };
  source.onerror = function () { setLive(false); };
  source.addEventListener("hello", function () { setLive(true); });
  source.addEventListener("resync", function () { window.location.reload(); });
  source.addEventListener("run.started", function (ev) {
    const data = JSON.parse(ev.data);
    if (addRunRow(data) && !data.resumed) bump("card-runs", 1);
    runStatus(data.run_id, "running");
    if (!active.has(data.run_id)) { active.add(data.run_id); bump("card-active", 1); }
  });
  source.addEventListener("run.finished", function (ev) {
    const data = JSON.parse(ev.data);
    runStatus(data.run_id, data.status);
    if (active.delete(data.run_id)) bump("card-active", -1);
  });
  source.addEventListener("step.started", function (ev) {
    stepStatus(JSON.parse(ev.data), "running");
  });
  source.addEventListener("step.finished", function (ev) {
    const data = JSON.parse(ev.data);
    stepStatus(data, data.status);
  });
  function requestRow(data, status) {
    // A run's page lists its approval requests as they are filed, linked, without a reload.
    if (data.run_id !== runId) return;
    const tbody = document.getElementById("requests-body");
    if (!tbody) return;
    let row = document.getElementById("request-" + data.request_id);
    if (!row) {
      const empty = tbody.querySelector("tr.empty");
      if (empty) empty.remove();
      row = document.createElement("tr");
      row.id = "request-" + data.request_id;
      row.className = "fresh";
      const link = document.createElement("a");
      link.className = "mono";
      link.href = "/approvals/" + data.request_id;
      link.textContent = data.request_id.slice(0, 12);
      [link, "", data.action, "", ""].forEach(function (value, i) {
        const td = document.createElement("td");
        if (i === 3) {
          td.className = "request-status";
          const badge = document.createElement("span");
          badge.className = "badge";
          td.appendChild(badge);
        }
        if (typeof value === "string") td.appendChild(document.createTextNode(value));
        else td.appendChild(value);
        row.appendChild(td);
      });
      tbody.appendChild(row);
    }
    setBadge(row.querySelector(".request-status"), status);
  }

  source.addEventListener("approval.created", function (ev) {
    requestRow(JSON.parse(ev.data), "pending");
  });
  ["approval.decided", "approval.approved", "approval.rejected", "approval.expired",
   "approval.escalated", "approval.withdrawn"].forEach(function (kind) {
    source.addEventListener(kind, function (ev) {
      const note = document.getElementById("queue-changed");
      if (note) note.hidden = false;
      const data = JSON.parse(ev.data);
      const status = {decided: "pending", escalated: "pending"}[data.kind] || data.kind;
      if (document.getElementById("request-" + data.request_id)) requestRow(data, status);
    });
  });
  // An agent run's conversation is redrawn from its fragment as turns are recorded (and as
  // its tool calls' steps and approvals change); one fetch at a time, a last one queued.
  const conversation = document.getElementById("conversation-wrap");
  let fetching = false;
  let again = false;
  function redrawConversation(ev) {
    if (!conversation || JSON.parse(ev.data).run_id !== runId) return;
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(conversation.dataset.src, {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) conversation.innerHTML = html; })
      .catch(function () {})
      .then(function () {
        fetching = false;
        if (again) { again = false; redrawConversation(ev); }
      });
  }
  ["agent.turn", "step.finished", "run.finished", "approval.created", "approval.approved",
   "approval.rejected", "approval.withdrawn"].forEach(function (kind) {
    source.addEventListener(kind, redrawConversation);
  });
  window.addEventListener("beforeunload", function () { source.close(); });
})();
