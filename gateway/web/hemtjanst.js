// Navet console: home care on the phone. My alarms (På plats, Avsluta), the doors I may open
// now (the door policy decides and says why not), my visits today, tonight's camera checks.
// Data from /api/v1 with the session cookie, live over Server-Sent Events; every word from
// the message catalogue the page carries; every value from the API goes in via textContent.
"use strict";
// M, CONFIG, CSRF, t(), el() and api() come from console.js, loaded first.


const $ = (sel) => document.querySelector(sel);
const state = {
  mine: new Map(),        // tenant -> /staff/me/visits
  alarms: new Map(),      // "tenant/id" -> full alarm (GET /alarms/{id})
  residents: new Map(),   // "tenant/id" -> resident
  doors: new Map(),       // "tenant/id" -> door lock device
  known: null,            // alarm keys seen so far (null until the first load)
  check: null,            // {tenant, session} of my open camera check
  acting: new Set(),      // "tenant/alarm" I am acting on: its leaving my list is my doing
  awaiting: null,         // "tenant/door" I sent a command to: its lock's report confirms it
  connected: new Set(),
  reload: new Map(),
  maps: new Map(),        // "tenant/id" -> [history length, GET /alarms/{id}/map]
  mapsOpen: new Set(),    // "tenant/id" whose map the person opened
};

const key = (tenant, id) => `${tenant}/${id}`;
const who = (actor) => (actor ? actor.name || actor.id : "");
const lang = () => (document.documentElement.lang === "en" ? "en-GB" : "sv-SE");
// times in the municipality's own time zone (the phone's may differ), as the visit plan has them
const zone = (tenant) => (state.mine.get(tenant) || {}).timezone || undefined;
const hhmm = (iso, tenant) => (iso ? new Date(iso).toLocaleTimeString(
  lang(), { hour: "2-digit", minute: "2-digit", timeZone: zone(tenant) }) : "–");

function resident(tenant, id) {
  const r = id && state.residents.get(key(tenant, id));
  return r ? `${r.label || id} (${id})` : id || t("unknown");
}

function home(tenant, id) {
  const r = id && state.residents.get(key(tenant, id));
  return r && r.home ? r.home.text : "";
}

function detailText(detail, status) {
  if (typeof detail === "string") return detail;
  return JSON.stringify(detail ?? status);
}

// ---------------------------------------------------------------- alarms dispatched to me

const ALLOWED = { attend: ["dispatched"], close: ["dispatched", "attended"] };

const FOCUSABLE = ["map-summary", "act-attend", "outcome", "close-note", "act-close"];

function renderAlarms() {
  const list = $("#my-alarms");
  // a re-render keeps what the person was doing: focus, a chosen outcome, a comment
  const active = document.activeElement;
  const at = active && active.closest && active.closest("li[data-key]");
  const focus = at ? [at.dataset.key, FOCUSABLE.find((c) => active.classList.contains(c))] : null;
  const typed = new Map([...list.querySelectorAll("li[data-key]")].map((li) => [li.dataset.key,
    [li.querySelector(".outcome").value, li.querySelector(".close-note").value]]));
  list.replaceChildren();
  let count = 0;
  for (const [tenant, mine] of state.mine) {
    for (const a of mine.alarms) {
      const k = key(tenant, a.alarm);
      const full = state.alarms.get(k) || {};
      const card = $("#alarm-card").content.firstElementChild.cloneNode(true);
      card.dataset.key = k;
      card.id = `alarm-${a.alarm}`;
      const prio = full.priority ? `${t(`priority.${full.priority}`)}: ` : "";
      card.querySelector(".what").append(el("strong", `${prio}${[a.kind, full.text].filter(Boolean).join(" – ") || t("unknown")}`));
      card.querySelector(".where").textContent = [resident(tenant, a.resident), home(tenant, a.resident),
        full.location && full.location.text].filter(Boolean).join(", ");
      const raised = full.raised ? ` · ${t("hc.raised_at", { time: hhmm(full.raised, tenant) })}` : "";
      card.querySelector(".state").textContent = `${t(`state.${a.state}`)}${raised}`;
      if (hasPosition(full)) cardMap(card, tenant, a.alarm, full, count);
      const attend = card.querySelector(".act-attend");
      attend.disabled = !ALLOWED.attend.includes(a.state);
      attend.setAttribute("aria-label", t("hc.attend_for", { resident: resident(tenant, a.resident) }));
      attend.addEventListener("click", () => alarmAct(tenant, a.alarm, "attend"));
      const form = card.querySelector(".form-close");
      form.querySelector(".act-close").disabled = !ALLOWED.close.includes(a.state);
      const [outcome, note] = typed.get(k) || ["", ""];
      form.querySelector(".outcome").value = outcome;
      form.querySelector(".close-note").value = note;
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const chosen = form.querySelector(".outcome").value;
        if (!chosen) return;
        const text = form.querySelector(".close-note").value.trim();
        alarmAct(tenant, a.alarm, "close", text ? { outcome: chosen, note: text } : { outcome: chosen });
      });
      list.append(card);
      count += 1;
    }
  }
  $("#alarms-empty").hidden = count > 0;
  if (focus && focus[1]) {
    const again = list.querySelector(`li[data-key="${CSS.escape(focus[0])}"] .${focus[1]}`);
    if (again && !again.disabled) again.focus();
    else if (again) (again.closest("li").querySelector("button:not(:disabled), select") || again).focus();
  }
}

function cardMap(card, tenant, id, full, n) {
  // where to go: the alarm's position, the fences and the track (map.js), opened on demand
  const k = key(tenant, id);
  const box = card.querySelector(".card-map");
  box.hidden = false;
  const draw = (data) => drawMap(box.querySelector(".map-box"), box.querySelector(".map-words"),
                                 data, CONFIG.map_tiles || "", CONFIG.map_attribution || "",
                                 `card-map-${n}`);
  box.addEventListener("toggle", async () => {
    if (!box.open) { state.mapsOpen.delete(k); return; }
    state.mapsOpen.add(k);
    const seen = (full.history || []).length;
    const cached = state.maps.get(k);
    if (cached && cached[0] === seen) { draw(cached[1]); return; }
    const res = await api("GET", `/api/v1/alarms/${encodeURIComponent(id)}/map`, { tenant });
    if (res.status !== 200) return;
    state.maps.set(k, [seen, res.data]);
    if (box.isConnected && box.open) draw(res.data);
  });
  box.open = state.mapsOpen.has(k);  // the toggle event draws it
}

async function alarmAct(tenant, id, action, body) {
  const out = $("#alarm-result");
  out.className = "result";
  out.textContent = "…";
  state.acting.add(key(tenant, id));
  let res;
  try {
    res = await api("POST", `/api/v1/alarms/${encodeURIComponent(id)}/${action}`, { tenant }, body);
  } catch (err) {
    out.className = "result bad";
    out.textContent = t("action.failed", { reason: err.message });
    state.acting.delete(key(tenant, id));
    return;
  }
  if (res.status === 200) {
    out.className = "result good";
    out.textContent = t(`action.done.${action}`);
  } else if (res.status === 409) {
    // someone else moved the alarm first (or closed it): say what it is now, and by whom
    const now = (res.data && res.data.current) || {};
    const by = now.closed_by || now.attended_by || now.acknowledged_by;
    out.className = "result bad";
    out.textContent = t("hc.conflict", { state: t(`state.${res.data && res.data.state}`),
                                         by: by ? t("state.by", { who: who(by) }) : "" });
  } else {
    out.className = "result bad";
    out.textContent = t("action.failed", { reason: detailText(res.data && res.data.detail, res.status) });
  }
  await load(tenant);
  state.acting.delete(key(tenant, id));
}

// ---------------------------------------------------------------- doors

function myDoors() {
  // the doors of visits on now and of alarms dispatched to me: the policy should allow these
  const out = new Map();
  for (const [tenant, mine] of state.mine) {
    for (const v of mine.visits) {
      if (!v.now) continue;
      for (const d of v.doors) {
        out.set(key(tenant, d), { tenant, door: d, resident: v.resident,
          why: t("hc.door_visit", { until: hhmm(v.door_until, tenant) }) });
      }
    }
    for (const a of mine.alarms) {
      for (const d of a.doors) {
        if (out.has(key(tenant, d))) continue; // a visit's door already
        out.set(key(tenant, d), { tenant, door: d, resident: a.resident,
          why: t("hc.door_alarm", { kind: a.kind || t("unknown") }) });
      }
    }
  }
  return out;
}

function renderDoors() {
  const list = $("#my-doors");
  const focusId = document.activeElement && document.activeElement.id;
  list.replaceChildren();
  const doors = myDoors();
  for (const d of doors.values()) {
    const li = el("li", undefined, "card door");
    const dev = state.doors.get(key(d.tenant, d.door)) || {};
    li.append(el("p", `${resident(d.tenant, d.resident)}${dev.location ? `, ${dev.location}` : ""}`, "what"),
              el("p", `${d.door} · ${d.why}`, "muted"));
    const buttons = el("div", undefined, "buttons");
    const safe = d.door.replace(/[^A-Za-z0-9_-]/g, "_");
    const open = el("button", t("hc.unlock"));
    open.type = "button";
    open.id = `unlock-${safe}`;
    open.setAttribute("aria-label", t("hc.unlock_door", { door: d.door }));
    open.addEventListener("click", () => door(d.tenant, d.door, "unlock"));
    const close = el("button", t("hc.lock"), "secondary");
    close.type = "button";
    close.id = `lock-${safe}`;
    close.setAttribute("aria-label", t("hc.lock_door", { door: d.door }));
    close.addEventListener("click", () => door(d.tenant, d.door, "lock"));
    buttons.append(open, close);
    li.append(buttons);
    list.append(li);
  }
  $("#doors-empty").hidden = doors.size > 0;
  // every other door of my municipalities: the policy answers if I try one
  const select = $("#other-door");
  const chosen = select.value;
  select.replaceChildren(el("option", t("action.choose")));
  select.firstChild.value = "";
  for (const [k, dev] of state.doors) {
    if (doors.has(k)) continue;
    const tenant = k.split("/")[0];
    const o = el("option", `${dev.resident ? resident(tenant, dev.resident) : t("hc.no_resident")}${dev.location ? `, ${dev.location}` : ""} (${dev.id})`);
    o.value = k;
    select.append(o);
  }
  select.value = chosen;
  if (focusId) { const again = document.getElementById(focusId); if (again) again.focus(); }
}

async function door(tenant, id, verb) {
  const out = $("#door-result");
  out.className = "result";
  out.replaceChildren(el("span", "…"));
  let res;
  try {
    res = await api("POST", `/api/v1/staff/doors/${encodeURIComponent(id)}/${verb}`, { tenant });
  } catch (err) {
    out.textContent = t("action.failed", { reason: err.message });
    return;
  }
  const body = res.status === 403 ? (res.data && res.data.detail) || {} : res.data || {};
  out.replaceChildren();
  if (res.status === 202) {
    state.awaiting = key(tenant, id);
    out.className = "result good";
    out.append(el("strong", t(`hc.door_sent.${verb}`, { door: id })));
  } else if (res.status === 403 && typeof body === "object" && body.decision) {
    // the door policy said no: in words, and the policy's own answer for the record
    out.className = "result bad";
    const code = body.decision.code;
    const words = M[`policy.lock.${code}`] ? t(`policy.lock.${code}`) : body.reason;
    out.append(el("strong", t("hc.door_refused", { door: id })), el("span", ` ${words}`));
    const small = el("p", t("hc.policy_said", { reason: body.reason }), "muted");
    out.append(small);
  } else if (res.status === 409) {
    out.className = "result bad";
    out.append(el("strong", t("hc.door_vendor_refused", { reason: body.reason || "" })));
  } else if (res.status === 503) {
    out.className = "result bad";
    out.append(el("strong", t("hc.door_unreachable", { reason: body.reason || "" })));
  } else {
    out.className = "result bad";
    out.append(el("strong", t("action.failed", { reason: detailText(body.detail ?? body, res.status) })));
  }
}

// ---------------------------------------------------------------- visits

function renderVisits() {
  const list = $("#my-visits");
  list.replaceChildren();
  let count = 0;
  for (const [tenant, mine] of state.mine) {
    for (const v of mine.visits) {
      const li = el("li", undefined, `card visit${v.now ? " now" : ""}`);
      const head = el("p", undefined, "what");
      head.append(el("strong", `${hhmm(v.start, tenant)}–${hhmm(v.end, tenant)}`),
                  document.createTextNode(` ${resident(tenant, v.resident)}`));
      if (v.now) head.append(el("span", t("hc.now"), "badge"));
      li.append(head);
      const where = home(tenant, v.resident);
      if (where) li.append(el("p", where));
      if (v.note) li.append(el("p", v.note, "note"));
      li.append(el("p", t("hc.door_window", { from: hhmm(v.door_from, tenant), until: hhmm(v.door_until, tenant) }), "muted"));
      list.append(li);
      count += 1;
    }
  }
  $("#visits-empty").hidden = count > 0;
}

// ---------------------------------------------------------------- camera checks tonight

function windowText(w) {
  // local wall-clock times from the schedule; the same start and end is the whole day
  return w.start === w.end ? t("hc.all_day") : `${w.start}–${w.end}`;
}

function renderCameras() {
  const list = $("#my-cameras");
  list.replaceChildren();
  let any = false;
  for (const tenant of CONFIG.tenants) {
    for (const c of tenant.cameras || []) {
      any = true;
      const li = el("li", undefined, "card");
      li.append(el("p", `${c.label || c.resident} (${c.resident})`, "what"),
                el("p", t("hc.camera_window", { windows: c.windows.map(windowText).join(", "), max: Math.round(c.max_session_s / 60 * 10) / 10 }), "muted"));
      const start = el("button", t("hc.start_check"));
      start.type = "button";
      start.id = `check-${c.resident.replace(/[^A-Za-z0-9_-]/g, "_")}`;
      start.setAttribute("aria-label", t("hc.start_check_for", { resident: c.label || c.resident }));
      start.disabled = !!state.check;
      start.addEventListener("click", () => startCheck(tenant.id, c.resident));
      li.append(start);
      list.append(li);
    }
  }
  $("#cameras").hidden = !any;
  $("#check-open").hidden = !state.check;
}

function checkSay(text, cls) {
  const out = $("#check-result");
  out.textContent = text;
  out.className = `result ${cls || ""}`;
}

async function startCheck(tenant, who_) {
  checkSay("…");
  const res = await api("POST", "/api/v1/supervision/checks", { tenant }, { resident: who_ });
  if (res.status === 201) {
    state.check = { tenant, session: res.data.session };
    $("#check-view").href = res.data.view_url;
    $("#check-ends").textContent = t("hc.check_ends", { time: hhmm(res.data.ends_at, tenant) });
    checkSay(t("hc.check_started"), "good");
    renderCameras();
    $("#check-title").focus();
  } else if (res.status === 403 && res.data && res.data.detail && res.data.detail.code) {
    const d = res.data.detail;
    const words = M[`policy.camera.${d.code}`] ? t(`policy.camera.${d.code}`) : d.reason;
    checkSay(`${t("hc.check_refused")} ${words}`, "bad");
  } else {
    checkSay(t("action.failed", { reason: detailText(res.data && res.data.detail, res.status) }), "bad");
  }
  await loadChecks(tenant);
}

async function observe(ev) {
  ev.preventDefault();
  const c = state.check;
  const finding = $("#finding").value;
  if (!c || !finding) return;
  const note = $("#finding-note").value.trim();
  const res = await api("POST", `/api/v1/supervision/checks/${encodeURIComponent(c.session)}/observations`,
                        { tenant: c.tenant }, note ? { finding, note } : { finding });
  if (res.status === 201) checkSay(t("hc.observed", { finding: t(`finding.${finding}`) }), "good");
  else checkSay(t("action.failed", { reason: detailText(res.data && res.data.detail, res.status) }), "bad");
  await loadChecks(c.tenant);
}

async function endCheck() {
  const c = state.check;
  if (!c) return;
  const res = await api("POST", `/api/v1/supervision/checks/${encodeURIComponent(c.session)}/end`, { tenant: c.tenant });
  state.check = null;
  $("#check-view").href = "#";
  checkSay(res.status === 200 ? t("hc.check_ended") : t("hc.check_gone"), res.status === 200 ? "good" : "");
  renderCameras();
  await loadChecks(c.tenant);
}

async function loadChecks(tenant) {
  if (!(CONFIG.tenants.find((x) => x.id === tenant) || {}).cameras?.length) return;
  const res = await api("GET", "/api/v1/supervision/checks/mine", { tenant });
  if (res.status !== 200) return;
  const list = $("#checks-done");
  list.replaceChildren();
  for (const c of res.data.checks) {
    const res_ = resident(tenant, c.resident);
    let text;
    if (c.status === "refused") {
      text = t("hc.check_row_refused", { resident: res_, reason: M[`policy.camera.${c.code}`] ? t(`policy.camera.${c.code}`) : c.reason });
    } else {
      text = t(`hc.check_row_${c.status === "open" ? "open" : "ended"}`, { resident: res_,
        findings: (c.findings || []).map((f) => t(`finding.${f}`)).join(", ") || "–" });
    }
    const li = el("li");
    li.append(el("time", hhmm(c.time, tenant)), document.createTextNode(` ${text}`));
    list.append(li);
    if (c.status === "open" && state.check && state.check.session !== c.session) state.check = null;
  }
  if (state.check && !res.data.checks.some((c) => c.session === state.check.session && c.status === "open")) {
    state.check = null; // ended by itself (time, consent withdrawn)
    renderCameras();
  }
  $("#checks-empty").hidden = res.data.checks.length > 0;
}

// ---------------------------------------------------------------- loading and live

async function load(tenant) {
  const res = await api("GET", "/api/v1/staff/me/visits", { tenant });
  if (res.status !== 200) return;
  const before = (state.mine.get(tenant) || { alarms: [] }).alarms;
  state.mine.set(tenant, res.data);
  const now = new Set(res.data.alarms.map((a) => a.alarm));
  const gone = before.filter((a) => !now.has(a.alarm) && !state.acting.has(key(tenant, a.alarm)));
  const fresh = [];
  await Promise.all(res.data.alarms.map(async (a) => {
    const k = key(tenant, a.alarm);
    const one = await api("GET", `/api/v1/alarms/${encodeURIComponent(a.alarm)}`, { tenant });
    if (one.status === 200) state.alarms.set(k, one.data);
    if (state.known && !state.known.has(k)) fresh.push(a);
    if (state.known) state.known.add(k);
  }));
  if (fresh.length) cue(tenant, fresh);
  for (const a of gone) await goneElsewhere(tenant, a);
  renderAlarms();
  renderDoors();
  renderVisits();
}

async function goneElsewhere(tenant, a) {
  // taken off my list by someone else (closed at the centre, sent to another): say so
  state.alarms.delete(key(tenant, a.alarm));
  const res = await api("GET", `/api/v1/alarms/${encodeURIComponent(a.alarm)}`, { tenant });
  const now = res.status === 200 ? res.data : {};
  const by = now.closed_by || (now.dispatched_to || []).slice(-1)[0];
  const out = $("#alarm-result");
  out.className = "result bad";
  out.textContent = t("hc.alarm_gone", {
    what: `${a.kind || t("unknown")}, ${resident(tenant, a.resident)}`,
    state: t(`state.${now.state || "closed"}`), by: by ? t("state.by", { who: who(by) }) : "" });
}

function cue(tenant, fresh) {
  // an alarm sent to me: a spoken line, a tone, the count in the tab's title
  const a = fresh[0];
  $("#announce").textContent = t("hc.new_alarm", { what: a.kind || t("unknown"), resident: resident(tenant, a.resident) });
  document.body.dataset.cues = String(Number(document.body.dataset.cues || 0) + fresh.length);
  document.title = `${t("queue.new_count", { n: fresh.length })} ${document.title.replace(/^\(\d+\)[^–]*?(?= )/, "").trim()}`;
  for (const x of fresh) {
    const card = document.getElementById(`alarm-${x.alarm}`);
    if (card) card.classList.add("new");
  }
  try {
    const ctx = cue.ctx || (cue.ctx = new AudioContext());
    const osc = ctx.createOscillator();
    osc.frequency.value = 880;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.3);
  } catch (e) { /* no audio device: the spoken and visual cue stand */ }
}

async function loadDirectory(tenant) {
  const [res, dev] = await Promise.all([
    api("GET", "/api/v1/residents", { tenant }),
    api("GET", "/api/v1/devices", { tenant }),
  ]);
  for (const r of res.data || []) state.residents.set(key(tenant, r.id), r);
  for (const d of dev.data || []) if (d.kind === "door_lock") state.doors.set(key(tenant, d.id), d);
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
  url.searchParams.append("type", "lock.");
  const source = new EventSource(url);
  source.onerror = () => { state.connected.delete(tenant); setStatus(); };
  const soon = () => {
    clearTimeout(state.reload.get(tenant));
    state.reload.set(tenant, setTimeout(() => load(tenant), 150));
  };
  // What happened before the stream opened (or while it was down) is read again then:
  // a new stream starts from now.
  source.onopen = () => { state.connected.add(tenant); setStatus(); soon(); };
  for (const type of ["alarm.updated", "alarm.cancelled", "alarm.dispatched", "alarm.attended",
                      "alarm.closed", "alarm.escalated"]) {
    source.addEventListener(type, soon);
  }
  for (const type of ["lock.unlocked", "lock.locked", "lock.jammed"]) {
    source.addEventListener(type, (msg) => confirmed(tenant, type, JSON.parse(msg.data)));
  }
}

function confirmed(tenant, type, ce) {
  // the door's own report after my command: now it is open (or locked, or jammed)
  const ev = ce.data || {};
  const door = ev.device && ev.device.id;
  if (!door || state.awaiting !== key(tenant, door)) return;
  const out = $("#door-result");
  out.append(el("p", t(`hc.door_${type.split(".")[1]}`, { door, time: hhmm(ev.time || ce.time, tenant) }),
                type === "lock.jammed" ? "bad" : "good"));
  if (type !== "lock.jammed") state.awaiting = null;
}

async function start() {
  $("#form-other-door").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const k = $("#other-door").value;
    if (!k) return;
    const [tenant, id] = k.split(/\/(.*)/s);
    door(tenant, id, (ev.submitter && ev.submitter.value) || "unlock");
  });
  $("#form-observe").addEventListener("submit", observe);
  $("#act-end-check").addEventListener("click", endCheck);
  $("#hc-none").hidden = CONFIG.tenants.length > 0;
  renderCameras();
  for (const tenant of CONFIG.tenants) {
    await loadDirectory(tenant.id);
    await load(tenant.id);
    await loadChecks(tenant.id);
    listen(tenant.id);
  }
  state.known = new Set([...state.mine].flatMap(([tenant, m]) => m.alarms.map((a) => key(tenant, a.alarm))));
  setStatus();
  // the "now" of visits and door windows moves on: reread every minute
  setInterval(() => CONFIG.tenants.forEach((x) => load(x.id)), 60_000);
}

start();
