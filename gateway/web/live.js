// Navet live view: REST for the first picture, Server-Sent Events for what follows.
// No framework and no build step; every value from the API goes in via textContent, every
// word from the message catalogue the page carries (gateway/web/messages).
"use strict";

const M = JSON.parse(document.getElementById("messages").textContent);
function t(key, fields) {
  let text = M[key] ?? key;
  for (const [k, v] of Object.entries(fields || {})) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

const MAX_ROWS = 200;
const POLL_MS = 5000; // devices' last-seen and dead letters do not come through the stream
const WARN_TYPES = new Set([
  "device.offline", "device.fault", "device.tamper", "lock.jammed", "lock.denied",
  "medication.dose_missed", "medication.refill_needed", "supervision.refused",
]);

const $ = (sel) => document.querySelector(sel);
const state = { tenant: null, source: null, counts: {}, seen: new Set(), poll: null, soon: null };

// Signing out ends the session before the answer's redirect arrives; a call that meets the
// 401 in between must not send the person to "session expired" instead of "signed out".
let signingOut = false;
document.addEventListener("submit", (e) => {
  if (new URL(e.target.action, location.origin).pathname === "/signout") signingOut = true;
});

async function getJSON(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    for (const one of [].concat(v)) url.searchParams.append(k, one);
  }
  const res = await fetch(url, { credentials: "same-origin" });
  if (res.status === 401) {  // the session ended: sign in again, come back (or signing out)
    if (!signingOut) {
      location.assign(`/signin?why=expired&next=${encodeURIComponent(location.pathname + location.search)}`);
    }
    return new Promise(() => {});  // the page is leaving: no error for a call that met the end
  }
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  return res.json();
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function clock(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  const time = d.toLocaleTimeString("sv-SE");
  return today ? time : `${d.toLocaleDateString("sv-SE")} ${time}`;
}

function who(actor) {
  return actor ? actor.name || actor.id : "";
}

// One line an operator can read at a glance; the full event is one API call away.
function describe(ev) {
  const d = ev.data || {};
  switch (ev.type) {
    case "alarm.raised":
      return [d.kind, d.text, d.code && t("live.d.code", { code: d.code })].filter(Boolean).join(" – ");
    case "alarm.closed":
      return t("live.d.closed", { outcome: d.outcome, who: who(d.by) }) + (d.note ? ": " + d.note : "");
    case "alarm.cancelled":
      return t("live.d.cancelled", { reason: d.reason });
    case "alarm.escalated":
      return t("live.d.escalated", { level: d.level, to: d.to, reason: d.reason });
    case "alarm.dispatched":
      return t("live.d.dispatched", { to: who(d.to), by: who(d.by) });
    case "sensor.reported":
      return Object.entries(d.readings || {})
        .filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`).join(", ");
    case "device.battery":
      return `${d.level_pct ?? "?"} %${d.low ? t("live.d.low") : ""}`;
    case "device.tamper":
      return d.active ? t("live.d.tamper_on") : t("live.d.tamper_off");
    case "device.offline":
      return d.reason;
    case "device.fault":
      return t(d.active ? "live.d.fault_on" : "live.d.fault_off", { kind: d.kind }) +
        (d.text ? ": " + d.text : "");
    case "position.reported":
      return d.point ? `${d.point.lat.toFixed(5)}, ${d.point.lon.toFixed(5)}` : "";
    default:
      if (d.by) return who(d.by) + (d.reason ? `: ${d.reason}` : "");
      if (d.dose) return [d.medication, d.dose].filter(Boolean).join(" ");
      const text = JSON.stringify(d);
      return text === "{}" ? "" : text.slice(0, 120);
  }
}

// The REST API returns envelopes; the stream returns CloudEvents. Same row either way.
function fromCloudEvent(ce, seq) {
  return { ...ce.data, id: ce.id, type: ce.type, time: ce.time, seq: Number(seq) };
}

function rowClass(type) {
  if (type === "alarm.raised") return "alarm raised";
  if (type.startsWith("alarm.")) return "alarm";
  return WARN_TYPES.has(type) ? "warn" : "";
}

function addRow(ev, fresh) {
  if (state.seen.has(ev.id)) return;
  state.seen.add(ev.id);
  const tr = el("tr", null, rowClass(ev.type) + (fresh ? " new" : ""));
  tr.dataset.type = ev.type;
  tr.dataset.seq = ev.seq;
  tr.append(
    el("td", clock(ev.time), "time"),
    el("td", ev.type, "type"),
    el("td", ev.resident || "–"),
    el("td", ev.device ? ev.device.id : "–"),
    el("td", describe(ev)),
  );
  const body = $("#events tbody");
  body.prepend(tr);
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
  $("#no-events").hidden = true;
}

function renderCounters() {
  const box = $("#counters");
  box.replaceChildren();
  const entries = Object.entries(state.counts).filter(([type]) => type !== "device.heartbeat");
  entries.sort(([a], [b]) => (b.startsWith("alarm.") - a.startsWith("alarm.")) || a.localeCompare(b));
  for (const [type, n] of entries) {
    const c = el("div", null, "counter" + (type.startsWith("alarm.") ? " alarm" : ""));
    c.dataset.type = type;
    c.append(el("b", n), el("span", type));
    box.append(c);
  }
  if (!entries.length) box.append(el("p", t("live.no_events_tenant"), "empty"));
}

async function refreshDevices() {
  const devices = await getJSON("/api/v1/devices", { tenant: state.tenant });
  const body = $("#devices tbody");
  body.replaceChildren();
  devices.sort((a, b) => (b.last_seen || "").localeCompare(a.last_seen || ""));
  for (const dev of devices) {
    const name = el("td", dev.id, "device");
    if (dev.location) name.append(el("small", dev.location));
    if (dev.unassigned) name.append(el("span", t("live.unassigned"), "tag"));
    const tr = el("tr");
    tr.append(name, el("td", dev.resident || "–"), el("td", clock(dev.last_seen), "time"));
    body.append(tr);
  }
  if (!devices.length) {
    const tr = el("tr");
    tr.append(el("td", t("live.no_devices"), "empty"));
    body.append(tr);
  }
}

async function refreshDeadLetters() {
  if (!$("#dead-letters")) return; // only administrators and vendors read dead letters
  const letters = await getJSON("/api/v1/dead-letters", { tenant: state.tenant, limit: 20 });
  const list = $("#dead-letters");
  list.replaceChildren();
  for (const dl of letters) {
    const li = el("li");
    li.append(
      el("div", `${clock(dl.received)} · ${dl.adapter} · ${dl.address}`),
      el("div", dl.reason, "reason"),
      el("code", dl.payload),
    );
    list.append(li);
  }
  if (!letters.length) list.append(el("li", t("live.no_dead_letters"), "empty"));
}

function setStatus(on, text) {
  const s = $("#status");
  s.className = "status " + (on ? "on" : "off");
  s.textContent = text;
}

// An event means a device was just heard from: show its new last-seen shortly.
function refreshSoon() {
  clearTimeout(state.soon);
  state.soon = setTimeout(() => refreshDevices().catch(console.error), 300);
}

async function openTenant(tenant) {
  if (state.source) state.source.close();
  clearInterval(state.poll);
  Object.assign(state, { tenant, counts: {}, seen: new Set() });
  history.replaceState(null, "", `?tenant=${encodeURIComponent(tenant)}`);
  $("#events tbody").replaceChildren();
  $("#no-events").hidden = false;

  const [summary, recent] = await Promise.all([
    getJSON("/api/v1/summary", { tenant }),
    getJSON("/api/v1/events", { tenant, order: "desc", limit: 50, exclude: "device.heartbeat" }),
  ]);
  state.counts = summary.counts;
  renderCounters();
  const items = recent.items.slice().reverse();
  items.forEach((ev) => addRow(ev, false));
  const after = items.length ? items[items.length - 1].seq : 0;

  // Each message carries its seq as id; on reconnect the browser sends Last-Event-ID
  // and the server resumes exactly after it.
  const types = await getJSON("/api/v1/event-types");
  const source = new EventSource(`/api/v1/stream?tenant=${encodeURIComponent(tenant)}&after=${after}`);
  state.source = source;
  const onEvent = (msg) => {
    const ev = fromCloudEvent(JSON.parse(msg.data), msg.lastEventId);
    if (state.seen.has(ev.id)) return;
    state.counts[ev.type] = (state.counts[ev.type] || 0) + 1;
    renderCounters();
    addRow(ev, true);
    refreshSoon();
  };
  for (const type of Object.keys(types)) source.addEventListener(type, onEvent);
  source.onopen = () => setStatus(true, t("live.status.on"));
  source.onerror = () => setStatus(false, t("live.status.reconnecting"));

  const poll = () => Promise.all([refreshDevices(), refreshDeadLetters()]).catch(console.error);
  await poll();
  state.poll = setInterval(poll, POLL_MS);
}

async function main() {
  const tenants = await getJSON("/api/v1/tenants");
  const select = $("#tenant");
  for (const one of tenants) {
    const opt = el("option", one.name === one.id ? one.id : `${one.name} (${one.id})`);
    opt.value = one.id;
    select.append(opt);
  }
  const wanted = new URLSearchParams(location.search).get("tenant");
  if (wanted && tenants.some((one) => one.id === wanted)) select.value = wanted;
  select.addEventListener("change", () => openTenant(select.value).catch(console.error));
  if (select.value) await openTenant(select.value);
  else setStatus(false, t("live.status.no_tenants"));
}

main().catch((err) => { console.error(err); setStatus(false, t("live.status.error", { reason: err.message })); });
