// Navet console: the operator's alarm queue. Data from /api/v1 with the session cookie,
// live over Server-Sent Events; every word from the message catalogue the page carries.
// No framework and no build step; every value from the API goes in via textContent.
"use strict";
// M, CONFIG, CSRF, t(), el() and api() come from console.js, loaded first.

const PRIORITY = { critical: 0, high: 1, normal: 2, low: 3 };
const BATTERY_LOW_PCT = 20;

const $ = (sel) => document.querySelector(sel);
const state = {
  alarms: new Map(),      // "tenant/id" -> alarm
  residents: new Map(),   // "tenant/id" -> resident
  devices: new Map(),     // "tenant/id" -> device
  battery: new Map(),     // "tenant/device" -> last device.battery data
  staff: new Map(),       // tenant -> [{id,label,teams}]
  selected: null,
  mapOf: null,            // the alarm (and its history length) the map shows
  fresh: new Set(),       // new alarms nobody has opened yet: highlighted until opened
  known: null,            // alarm keys seen so far (null until the first load)
  connected: new Set(),
  reload: new Map(),
};

const key = (tenant, id) => `${tenant}/${id}`;
const who = (actor) => (actor ? actor.name || actor.id : "");

function age(iso) {
  if (!iso) return "–";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return t("age.s", { n: s });
  if (s < 3600) return t("age.m", { n: Math.floor(s / 60) });
  if (s < 86400) return t("age.h", { n: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return t("age.d", { n: Math.floor(s / 86400) });
}

function clock(iso) {
  if (!iso) return "–";
  return new Date(iso).toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "sv-SE");
}

function kindText(a) {
  return [a.kind, a.text].filter(Boolean).join(" – ") || t("unknown");
}

function tenantName(id) {
  const found = CONFIG.tenants.find((x) => x.id === id);
  return found ? found.name : id;
}

function routing(a) {
  // the plan's chain for a missed dose, else the municipality's alarm chain
  const tenant = CONFIG.tenants.find((x) => x.id === a.tenant) || {};
  const plan = String(a.kind || "").startsWith("medication") && (tenant.medication || {})[a.resident];
  const chain = plan || tenant.receivers || [];
  if (a.escalated_to) return t("queue.escalated", { to: a.escalated_to, level: a.escalation_level });
  return chain.join(" → ") || "–";
}

function place(a) {
  const dev = a.device && state.devices.get(key(a.tenant, a.device));
  const res = a.resident && state.residents.get(key(a.tenant, a.resident));
  const home = res && res.home ? res.home.text : null;
  const parts = [home, dev && dev.location, a.location && a.location.text].filter(Boolean);
  return [...new Set(parts)].join(", ") || "–";
}

function sorted() {
  return [...state.alarms.values()].sort((x, y) =>
    (PRIORITY[x.priority] ?? 9) - (PRIORITY[y.priority] ?? 9) ||
    String(x.raised).localeCompare(String(y.raised)));
}

// ---------------------------------------------------------------- the queue

function renderQueue() {
  const body = $("#queue tbody");
  const focused = document.activeElement && document.activeElement.dataset.key;
  body.replaceChildren();
  const many = CONFIG.tenants.length > 1;
  for (const a of sorted()) {
    const k = key(a.tenant, a.id);
    const tr = el("tr");
    tr.dataset.key = k;
    tr.tabIndex = k === (state.selected || focused) ? 0 : -1;
    if (state.selected === k) { tr.classList.add("selected"); tr.setAttribute("aria-current", "true"); }
    if (state.fresh.has(k) && a.state === "raised") tr.classList.add("new");
    const prio = el("td", t(`priority.${a.priority}`), `prio prio-${a.priority}`);
    tr.append(prio, el("td", age(a.raised)));
    const kind = el("td", kindText(a));
    if (a.overdue) kind.append(el("span", t("queue.overdue"), "overdue"));
    const res = state.residents.get(key(a.tenant, a.resident));
    tr.append(kind, el("td", res ? `${res.label} (${a.resident})` : a.resident || "–"),
              el("td", a.device || "–"), el("td", place(a)),
              el("td", t(`state.${a.state}`)), el("td", routing(a)));
    if (many) tr.append(el("td", tenantName(a.tenant)));
    tr.addEventListener("click", () => select(k, false));
    tr.addEventListener("keydown", (ev) => onRowKey(ev, k));
    body.append(tr);
  }
  if (!body.querySelector('tr[tabindex="0"]') && body.firstChild) body.firstChild.tabIndex = 0;
  $("#queue-empty").hidden = state.alarms.size > 0;
  if (focused) {
    const again = body.querySelector(`tr[data-key="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
  if (state.selected && !state.alarms.has(state.selected)) renderDetail();
}

function onRowKey(ev, k) {
  const rows = [...document.querySelectorAll("#queue tbody tr")];
  const at = rows.findIndex((r) => r.dataset.key === k);
  let next = null;
  if (ev.key === "ArrowDown") next = rows[Math.min(rows.length - 1, at + 1)];
  else if (ev.key === "ArrowUp") next = rows[Math.max(0, at - 1)];
  else if (ev.key === "Home") next = rows[0];
  else if (ev.key === "End") next = rows[rows.length - 1];
  else if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(k, true); return; }
  if (next) {
    ev.preventDefault();
    rows.forEach((r) => { r.tabIndex = -1; });
    next.tabIndex = 0;
    next.focus();
  }
}

function select(k, moveFocus) {
  state.selected = k;
  state.fresh.delete(k);
  renderQueue();
  renderDetail();
  $("#result").textContent = "";
  $("#result").className = "";
  if (moveFocus) {
    const first = [...document.querySelectorAll("#detail-body button")].find((b) => !b.disabled);
    (first || $("#detail-title")).focus();
  }
}

// ---------------------------------------------------------------- one alarm

const ALLOWED = {
  acknowledge: ["raised"],
  dispatch: ["acknowledged", "dispatched"],
  attend: ["acknowledged", "dispatched"],
  close: ["acknowledged", "dispatched", "attended"],
  note: ["raised", "acknowledged", "dispatched", "attended"],
};

function renderDetail() {
  const a = state.selected && state.alarms.get(state.selected);
  $("#detail-none").hidden = !!a;
  $("#detail-body").hidden = !a;
  if (!a) { $("#map-section").hidden = true; state.mapOf = null; return; }
  const facts = $("#detail-facts");
  facts.replaceChildren();
  const fact = (label, value) => { if (value) facts.append(el("dt", t(label)), el("dd", value)); };
  fact("queue.col.kind", kindText(a));
  fact("queue.col.priority", t(`priority.${a.priority}`));
  fact("queue.col.state", t(`state.${a.state}`));
  fact("detail.raised", `${clock(a.raised)} (${age(a.raised)})`);
  const res = state.residents.get(key(a.tenant, a.resident));
  fact("queue.col.resident", res ? `${res.label} (${a.resident})` : a.resident);
  fact("queue.col.device", a.device);
  fact("queue.col.place", place(a));
  fact("queue.col.routing", routing(a));
  fact("detail.acknowledged_by", who(a.acknowledged_by));
  fact("detail.dispatched_to", (a.dispatched_to || []).map(who).filter(Boolean).join(", "));
  fact("detail.attended_by", who(a.attended_by));
  if (CONFIG.tenants.length > 1) fact("queue.col.tenant", tenantName(a.tenant));
  for (const [action, states] of Object.entries(ALLOWED)) {
    const button = $(`#act-${action}`);
    if (button) button.disabled = !states.includes(a.state);
  }
  fillDispatch(a.tenant);
  showMap(a);
  const list = $("#timeline");
  list.replaceChildren();
  for (const h of a.history || []) {
    const li = el("li");
    const when = el("time", clock(h.time));
    when.dateTime = h.time || "";
    const d = h.data || {};
    const detail = [who(d.by), d.to ? `→ ${who(d.to)}` : "", d.outcome ? t(`outcome.${d.outcome}`) : "",
                    d.note || d.text || ""].filter(Boolean).join(" ");
    li.append(when, el("strong", t(`event.${h.type}`)), document.createTextNode(detail ? ` ${detail}` : ""));
    list.append(li);
  }
}

async function showMap(a) {
  // a GPS alarm: its position, the resident's fences and the device's track (map.js)
  const section = $("#map-section");
  if (!hasPosition(a)) { section.hidden = true; state.mapOf = null; return; }
  const k = `${key(a.tenant, a.id)}#${(a.history || []).length}`;
  if (state.mapOf === k) return;  // drawn already, and nothing new happened to it
  state.mapOf = k;
  const res = await api("GET", `/api/v1/alarms/${encodeURIComponent(a.id)}/map`, { tenant: a.tenant });
  if (state.mapOf !== k) return;  // another alarm was opened meanwhile
  if (res.status !== 200) { section.hidden = true; state.mapOf = null; return; }  // again next time
  section.hidden = false;
  drawMap($("#map"), $("#map-text"), res.data, CONFIG.map_tiles || "", CONFIG.map_attribution || "");
}

function fillDispatch(tenant) {
  const select = $("#dispatch-to");
  if (select.dataset.tenant === tenant) return;
  select.dataset.tenant = tenant;
  select.replaceChildren(el("option", t("action.choose")));
  select.firstChild.value = "";
  const staff = state.staff.get(tenant) || [];
  const people = el("optgroup");
  people.label = t("dispatch.staff");
  for (const s of staff) {
    const o = el("option", s.label ? `${s.label} (${s.id})` : s.id);
    o.value = `staff:${s.id}`;
    people.append(o);
  }
  const teams = el("optgroup");
  teams.label = t("dispatch.team");
  for (const team of [...new Set(staff.flatMap((s) => s.teams || []))].sort()) {
    const o = el("option", team);
    o.value = `team:${team}`;
    teams.append(o);
  }
  select.append(people, teams);
}

async function act(action, body) {
  const a = state.alarms.get(state.selected);
  if (!a) return;
  const out = $("#result");
  out.className = "";
  out.textContent = "…";
  let res;
  try {
    res = await api("POST", `/api/v1/alarms/${encodeURIComponent(a.id)}/${action}`,
                    { tenant: a.tenant }, body);
  } catch (err) {
    out.textContent = t("action.failed", { reason: err.message });
    return;
  }
  if (res.status === 200) {
    const to = body && (body.staff || body.team);
    const member = to && (state.staff.get(a.tenant) || []).find((s) => s.id === to);
    out.textContent = t(`action.done.${action}`, { to: member && member.label ? member.label : to });
  } else if (res.status === 409) {
    // someone else moved the alarm first: say what it is now, and by whom
    const now = (res.data && res.data.current) || {};
    const by = now.closed_by || now.attended_by || (now.dispatched_to || []).slice(-1)[0] ||
      now.acknowledged_by;
    out.className = "conflict";
    out.textContent = t("action.conflict", {
      state: t(`state.${res.data && res.data.state}`),
      by: by ? t("state.by", { who: who(by) }) : "",
    });
  } else {
    const detail = res.data && res.data.detail;
    out.textContent = t("action.failed", {
      reason: typeof detail === "string" ? detail : JSON.stringify(detail ?? res.status) });
  }
  await loadAlarms(a.tenant);
}

// ---------------------------------------------------------------- loading and live

async function loadAlarms(tenant) {
  const res = await api("GET", "/api/v1/alarms", { tenant });
  if (res.status !== 200) return;
  for (const k of [...state.alarms.keys()]) if (k.startsWith(`${tenant}/`)) state.alarms.delete(k);
  const fresh = new Set();
  for (const a of res.data.items) {
    const k = key(tenant, a.id);
    state.alarms.set(k, a);
    if (state.known && !state.known.has(k) && a.state === "raised") fresh.add(k);
    if (state.known) state.known.add(k);
  }
  for (const k of fresh) state.fresh.add(k);
  if (fresh.size) cue(fresh);
  renderQueue();
  renderDetail();
}

function cue(fresh) {
  // a new alarm: a sound, a flashing row, the count in the tab's title, and a spoken line
  const first = state.alarms.get([...fresh][0]);
  $("#announce").textContent = t("queue.new_alarm", { what: kindText(first) });
  document.title = `${t("queue.new_count", { n: fresh.size })} ${document.title.replace(/^\(\d+\)[^–]*?(?= )/, "").trim()}`;
  document.body.dataset.cues = String(Number(document.body.dataset.cues || 0) + fresh.size);
  try {
    const ctx = cue.ctx || (cue.ctx = new AudioContext());
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = first.priority === "critical" ? 1046 : 880;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.4);
  } catch (e) { /* no audio device: the visual cue stands */ }
}

async function loadDirectory(tenant) {
  const [res, dev, staff, battery] = await Promise.all([
    api("GET", "/api/v1/residents", { tenant }),
    api("GET", "/api/v1/devices", { tenant }),
    api("GET", "/api/v1/staff", { tenant }),
    api("GET", "/api/v1/events", { tenant, type: "device.battery", order: "desc", limit: 200 }),
  ]);
  for (const r of res.data || []) state.residents.set(key(tenant, r.id), r);
  for (const d of dev.data || []) state.devices.set(key(tenant, d.id), d);
  state.staff.set(tenant, staff.status === 200 ? staff.data : []);
  for (const ev of (battery.data && battery.data.items) || []) {
    const k = key(tenant, ev.device && ev.device.id);
    if (!state.battery.has(k)) state.battery.set(k, ev.data || {});
  }
}

function renderHealth() {
  const list = $("#health");
  list.replaceChildren();
  const now = Date.now();
  for (const [k, d] of state.devices) {
    const tenant = k.split("/")[0];
    const notes = [];
    if (d.heartbeat_s) {
      if (!d.last_seen) notes.push(t("health.never"));
      else if (now - new Date(d.last_seen).getTime() > 2 * d.heartbeat_s * 1000) {
        notes.push(t("health.silent", { since: clock(d.last_seen) }));
      }
    }
    const b = state.battery.get(key(tenant, d.id));
    if (b && (b.low || (b.level_pct ?? 100) < BATTERY_LOW_PCT)) {
      notes.push(t("health.battery", { pct: b.level_pct ?? "?" }));
    }
    if (!notes.length) continue;
    const li = el("li");
    const res = d.resident && state.residents.get(key(tenant, d.resident));
    const whose = [res && res.label, d.location].filter(Boolean).join(", ");
    li.append(el("strong", d.id), document.createTextNode(whose ? ` (${whose}) ` : " "),
              el("span", notes.join(", "), "bad"));
    list.append(li);
  }
  $("#health-ok").hidden = list.childElementCount > 0;
}

function setStatus() {
  const live = state.connected.size === CONFIG.tenants.length && CONFIG.tenants.length > 0;
  const s = $("#status");
  s.textContent = t(live ? "queue.status.live" : "queue.status.off");
  s.className = `status ${live ? "live" : "off"}`;
}

function listen(tenant) {
  const url = new URL("/api/v1/stream", location.origin);
  url.searchParams.set("tenant", tenant);
  url.searchParams.append("type", "alarm.");
  url.searchParams.append("type", "device.");
  url.searchParams.append("type", "position.reported");
  const source = new EventSource(url);
  source.onerror = () => { state.connected.delete(tenant); setStatus(); };
  const soon = (what) => {
    clearTimeout(state.reload.get(`${tenant}:${what}`));
    state.reload.set(`${tenant}:${what}`, setTimeout(async () => {
      if (what === "alarms") await loadAlarms(tenant);
      else if (what === "position") {  // a new fix: the open GPS alarm's track moves on
        if (state.mapOf && state.mapOf.startsWith(`${tenant}/`)) { state.mapOf = null; renderDetail(); }
      } else { await loadDirectory(tenant); renderHealth(); renderQueue(); }
    }, 150));
  };
  // Whatever happened between the page's first read and this stream (or while it was
  // down) is read again once it is open: a new stream starts from now, so an alarm
  // raised in that gap would otherwise wait for the next event to appear.
  source.onopen = () => {
    state.connected.add(tenant); setStatus(); soon("alarms"); soon("devices");
  };
  const onEvent = (ev) => soon(ev.type.startsWith("alarm.") ? "alarms"
    : ev.type === "position.reported" ? "position" : "devices");
  for (const type of ["alarm.raised", "alarm.updated", "alarm.cancelled", "alarm.acknowledged",
                      "alarm.escalated", "alarm.dispatched", "alarm.attended", "alarm.closed",
                      "device.battery", "device.offline", "device.online",
                      "position.reported"]) {
    source.addEventListener(type, onEvent);
  }
}

async function start() {
  $("#act-acknowledge").addEventListener("click", () => act("acknowledge"));
  $("#act-attend").addEventListener("click", () => act("attend"));
  $("#form-dispatch").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const [kind, id] = $("#dispatch-to").value.split(/:(.*)/s);
    if (!id) return;
    act("dispatch", kind === "team" ? { team: id } : { staff: id });
  });
  $("#form-close").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const note = $("#close-note").value.trim();
    act("close", note ? { outcome: $("#outcome").value, note } : { outcome: $("#outcome").value });
  });
  $("#form-note").addEventListener("submit", (ev) => {
    ev.preventDefault();
    act("notes", { text: $("#note").value.trim() }).then(() => { $("#note").value = ""; });
  });
  await Promise.all(CONFIG.tenants.map((x) => loadDirectory(x.id)));
  renderHealth();
  await Promise.all(CONFIG.tenants.map((x) => loadAlarms(x.id)));
  state.known = new Set(state.alarms.keys());
  CONFIG.tenants.forEach((x) => listen(x.id));
  setStatus();
  setInterval(() => { renderQueue(); renderHealth(); }, 30000); // ages move on, units fall silent
}

start();
