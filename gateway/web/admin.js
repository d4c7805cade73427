// Navet console: the administrator's editor. One table and one form for every resource,
// driven by the description the page carries (CONFIG.resource, gateway/api/console/admin.py).
// Reads and writes /api/v1 with the session; the API validates every write like a care
// configuration file, and its answer (422 naming the field, 403, 404, 409) is shown in words
// beside the form. Every word comes from the catalogue (t), every control is a native one.
"use strict";

const R = CONFIG.resource;
const TENANT = CONFIG.tenant;
const LOCALE = document.documentElement.lang === "en" ? "en-GB" : "sv-SE";
const BATTERY_LOW_PCT = 20;
const $ = (sel) => document.querySelector(sel);
const state = {
  items: [],
  refs: { residents: [], staff: [] },
  battery: new Map(),   // device id -> last device.battery data
  editing: null,        // the item the form edits; null: a new one
  removing: null,       // the item waiting for the removal to be confirmed
  opener: null,         // the button that opened the panel, focused again when it closes
};

// ------------------------------------------------------------------ words for values

const label = (name) => t(`field.${name}`);
const opt = (set, value) => (value === null || value === undefined || value === "")
  ? "" : t(`opt.${set}.${value}`);
const when = (iso) => iso ? new Date(iso).toLocaleString(LOCALE, {
  dateStyle: "short", timeStyle: "short" }) : "";
const hhmm = (value) => (value || "").slice(0, 5);

function days(list) {
  return (list || []).length === 7 ? t("admin.every_day")
    : (list || []).map((d) => opt("day", d)).join(" ");
}

function window_(w) {
  return `${days(w.days)} ${hhmm(w.start)}\u2013${hhmm(w.end)}`;
}

function keyOf(item) {
  return R.key.map((k) => item[k]).join(":");
}

function shown(value) {
  return value === null || value === undefined || value === "" ? "\u2013" : String(value);
}

function cell(column, item) {
  const value = item[column.name];
  const [format, set] = column.format.split(":");
  switch (format) {
    case "option": return shown(opt(set, value));
    case "option_list": return shown((value || []).map((v) => opt(set, v)).join(", "));
    case "list": return shown((value || []).join(", "));
    case "grants": return shown((value || []).map((g) => t("admin.grant_row", {
      technology: opt("technology", g.technology), from: g.granted,
      to: g.ended || t("admin.open_ended") })).join("; "));
    case "windows": return shown((value || []).map(window_).join("; "));
    case "duty": return (value || []).length ? value.map(window_).join("; ") : t("admin.always");
    case "visits": return shown((value || []).map((v) => [window_(v), v.team, v.staff]
      .filter(Boolean).join(", ")).join("; "));
    case "resident": return shown(resident(value));
    case "given_by": return value === "resident" ? t("admin.given_by.resident")
      : String(value || "").startsWith("cohabitant:")
        ? t("admin.given_by.cohabitant", { who: value.slice("cohabitant:".length) }) : shown(value);
    case "validity": return validity(item);
    case "running": return t(value ? "admin.running" : "admin.stopped");
    case "delivery": return delivery(value || {});
    case "health": return health(item);
    case "adapter_health": return item.error ? item.error : value && Object.keys(value).length
      ? Object.entries(value).map(([k, v]) => `${k}: ${v}`).join(", ") : t("admin.health_none");
    default: return shown(value);
  }
}

function resident(id) {
  if (!id) return "";
  const found = state.refs.residents.find((r) => r.id === id);
  return found && found.label ? `${found.label} (${id})` : id;
}

function validity(c) {
  const now = Date.now();
  const span = t("admin.validity", { from: when(c.valid_from),
                                     to: c.valid_to ? when(c.valid_to) : t("admin.open_ended") });
  let status = "admin.consent.valid";
  if (c.withdrawn && new Date(c.withdrawn).getTime() <= now) status = "admin.consent.withdrawn";
  else if (new Date(c.valid_from).getTime() > now ||
           (c.valid_to && new Date(c.valid_to).getTime() <= now)) status = "admin.consent.not_valid";
  return `${span} (${t(status)})`;
}

function delivery(d) {
  const text = t("admin.delivery", { depth: d.depth ?? 0, dead: d.dead_letters ?? 0 });
  return d.last_error ? `${text}; ${t("admin.last_error", { error: d.last_error })}` : text;
}

function health(d) {
  const notes = [];
  if (!d.last_seen) notes.push(t("admin.health.never"));
  else {
    notes.push(t("admin.health.seen", { when: when(d.last_seen) }));
    if (d.heartbeat_s && Date.now() - new Date(d.last_seen).getTime() > 2 * d.heartbeat_s * 1000) {
      notes.push(t("admin.health.silent"));
    }
  }
  const b = state.battery.get(d.id);
  if (b && (b.low || (b.level_pct ?? 100) < BATTERY_LOW_PCT)) {
    notes.push(t("admin.health.battery_low", { pct: b.level_pct ?? "?" }));
  } else if (b && b.level_pct !== undefined) {
    notes.push(t("admin.health.battery", { pct: b.level_pct }));
  }
  return notes.join(", ");
}

// ------------------------------------------------------------------ the list

function refsNeeded() {
  const found = new Set();
  const walk = (fields) => fields.forEach((f) => { if (f.ref) found.add(f.ref); walk(f.fields); });
  walk(R.fields);
  return found;
}

async function load() {
  if (!TENANT) return;
  const res = await api("GET", R.list, { tenant: TENANT });
  const failed = $("#items-failed");
  if (res.status !== 200) {
    failed.textContent = problem(res).join(" ");
    failed.hidden = false;
    return;
  }
  failed.hidden = true;
  state.items = res.data || [];
  for (const ref of refsNeeded()) {
    const got = await api("GET", `/api/v1/${ref}`, { tenant: TENANT });
    state.refs[ref] = got.status === 200 ? got.data : [];
  }
  if (R.health) {
    const got = await api("GET", "/api/v1/events",
                          { tenant: TENANT, type: "device.battery", order: "desc", limit: 200 });
    for (const ev of (got.data && got.data.items) || []) {
      const id = ev.device && ev.device.id;
      if (id && !state.battery.has(id)) state.battery.set(id, ev.data || {});
    }
  }
  render();
}

function render() {
  const body = $("#items tbody");
  body.replaceChildren();
  for (const item of state.items) {
    const key = keyOf(item);
    const row = el("tr");
    row.dataset.key = key;
    R.columns.forEach((c, i) => {
      const td = el(i === 0 ? "th" : "td", cell(c, item));
      if (i === 0) td.scope = "row";
      row.append(td);
    });
    if (R.write === "items" || R.write === "team") {
      const td = el("td");
      td.className = "row-actions";
      const edit = el("button", R.unassign ? t("admin.edit_assign") : t("admin.edit"));
      edit.type = "button";
      edit.className = "edit";
      edit.setAttribute("aria-label", t("admin.edit_one", { id: key }));
      edit.addEventListener("click", () => open(item, edit));
      td.append(edit);
      if (R.unassign && item.resident) {
        const un = el("button", t("admin.unassign"), "secondary unassign");
        un.type = "button";
        un.setAttribute("aria-label", t("admin.unassign_one", { id: key, resident: item.resident }));
        un.addEventListener("click", () => unassign(item, un));
        td.append(un);
      }
      const rm = el("button", t("admin.remove"), "secondary remove");
      rm.type = "button";
      rm.setAttribute("aria-label", t("admin.remove_one", { id: key }));
      rm.addEventListener("click", () => askRemove(item, rm));
      td.append(rm);
      row.append(td);
    }
    body.append(row);
  }
  $("#items-empty").hidden = state.items.length > 0;
}

// ------------------------------------------------------------------ the form

const idFor = (path) => `f-${path.join("-").replaceAll(".", "_")}`;

function wrap(f, path, control) {
  const box = el("div", null, "field");
  const lab = el("label", label(f.name));
  lab.htmlFor = control.id;
  if (f.required) lab.append(el("span", ` ${t("admin.required")}`, "req"));
  box.append(lab, control);
  if (f.placeholder) {
    const hint = el("span", t(f.placeholder), "hint");
    hint.id = `${control.id}-hint`;
    control.setAttribute("aria-describedby", hint.id);
    box.append(hint);
  }
  return box;
}

function choices(f) {
  if (f.ref) {
    return (state.refs[f.ref] || []).map((r) => [r.id, r.label ? `${r.label} (${r.id})` : r.id]);
  }
  return (CONFIG.options[f.options] || []).map((v) => [v, opt(f.options, v)]);
}

function control(f, value, path, editing) {
  const id = idFor(path);
  let input;
  switch (f.type) {
    case "select":
    case "ref": {
      input = el("select");
      input.append(new Option(f.required ? t("action.choose") : t("admin.none"), ""));
      for (const [v, text] of choices(f)) input.append(new Option(text, v, false, v === value));
      if (value && ![...input.options].some((o) => o.value === value)) {
        input.append(new Option(value, value, false, true));  // a stored value no longer offered
      }
      input.disabled = Boolean(f.key && editing);
      break;
    }
    case "days":
    case "checks": {
      const set = el("fieldset", null, "checks");
      set.id = id;
      set.append(el("legend", label(f.name)));
      for (const [v, text] of choices(f)) {
        const box = el("input");
        box.type = "checkbox";
        box.value = v;
        box.id = `${id}-${v.replace(/[^\w-]/g, "_")}`;
        box.checked = (value || []).includes(v);
        const lab = el("label", text);
        lab.htmlFor = box.id;
        const item = el("span", null, "check");
        item.append(box, lab);
        set.append(item);
      }
      set.dataset.name = f.name;
      return set;
    }
    case "list": return listControl(f, value || [], path);
    default: {
      input = el("input");
      input.type = { number: "number", date: "date", datetime: "datetime-local",
                     time: "time", secret: "password" }[f.type] || "text";
      if (f.type === "number") input.inputMode = "numeric";
      if (f.max_length) input.maxLength = f.max_length;
      input.value = inputValue(f, value);
      input.readOnly = Boolean(f.key && editing);
      input.autocomplete = f.type === "secret" ? "new-password" : "off";
    }
  }
  input.id = id;
  input.dataset.name = f.name;
  if (f.required) input.setAttribute("aria-required", "true");
  return wrap(f, path, input);
}

function inputValue(f, value) {
  if (value === null || value === undefined) return "";
  if (f.type === "datetime") {
    const d = new Date(value);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }
  if (f.type === "time") return hhmm(value);
  if (f.type === "words") return (value || []).join(", ");
  return String(value);
}

function listControl(f, rows, path) {
  const set = el("fieldset", null, "list");
  set.id = idFor(path);
  set.dataset.name = f.name;
  set.append(el("legend", label(f.name)));
  const holder = el("div", null, "rows");
  set.append(holder);
  const add = el("button", t("admin.add_row", { what: label(f.name) }), "secondary add-row");
  add.type = "button";
  const addRow = (value) => {
    const i = holder.childElementCount;
    const row = el("fieldset", null, "row");
    row.append(el("legend", t("admin.row", { n: i + 1 })));
    for (const sub of f.fields) row.append(control(sub, value ? value[sub.name] : null,
                                                   [...path, i, sub.name], false));
    const rm = el("button", t("admin.remove_row", { n: i + 1 }), "secondary");
    rm.type = "button";
    rm.addEventListener("click", () => { row.remove(); add.focus(); });
    row.append(rm);
    holder.append(row);
    return row;
  };
  rows.forEach(addRow);
  add.addEventListener("click", () => {
    const row = addRow(null);
    const first = row.querySelector("input, select");
    if (first) first.focus();
  });
  set.append(add);
  return set;
}

function open(item, opener) {
  state.editing = item;
  state.opener = opener;
  $("#confirm").hidden = true;
  clearErrors();
  const form = $("#form");
  form.replaceChildren();
  form.hidden = false;
  for (const f of R.fields) form.append(control(f, item ? valueAt(item, f.name) : null,
                                                [f.name], item !== null));
  const buttons = el("div", null, "buttons");
  const save = el("button", t("admin.save"));
  save.type = "submit";
  save.id = "save";
  const cancel = el("button", t("admin.cancel"), "secondary");
  cancel.type = "button";
  cancel.id = "cancel";
  cancel.addEventListener("click", close);
  buttons.append(save, cancel);
  form.append(buttons);
  $("#panel-title").textContent = item ? t(`admin.${R.name}.one`, { id: keyOf(item) })
    : t(`admin.${R.name}.add`);
  showPanel(true);
  const first = [...form.querySelectorAll("input, select")].find((i) => !i.readOnly && !i.disabled);
  (first || $("#panel-title")).focus();
}

function showPanel(shown) {
  $("#panel").hidden = !shown;
  $(".editor").classList.toggle("editing", shown);
}

function valueAt(item, name) {
  return name.split(".").reduce((v, k) => (v === null || v === undefined ? v : v[k]), item);
}

function close() {
  showPanel(false);
  state.editing = null;
  state.removing = null;
  if (state.opener && document.body.contains(state.opener)) state.opener.focus();
  else $("#list-title").focus();
}

function read(fields, path, editing, stored) {
  const body = {};
  for (const f of fields) {
    const id = idFor([...path, f.name]);
    let value;
    if (f.type === "list") {
      const set = document.getElementById(id);
      const rows = set ? [...set.querySelector(".rows").children] : [];
      value = rows.map((row) => {  // by position now: rows renumber when one is removed
        const sub = {};
        for (const s of f.fields) {
          const node = row.querySelector(`[data-name="${s.name}"]`);
          const v = node ? fieldValue(s, node) : "";
          if (v !== "") sub[s.name] = v;
        }
        return sub;
      });
    } else {
      const node = document.getElementById(id);
      if (!node) continue;
      if (f.key && editing) continue;  // the key is in the path
      value = fieldValue(f, node);
    }
    const before = stored ? valueAt(stored, f.name) : undefined;
    if (value === "" || value === null) {
      if (!editing || before === undefined || before === null || before === "") continue;
      value = ["text", "words"].includes(f.type) ? (f.type === "words" ? [] : "") : null;
    }
    put(body, f.name, value);
  }
  return body;
}

function fieldValue(f, node) {
  if (f.type === "days" || f.type === "checks") {
    return [...node.querySelectorAll("input:checked")].map((i) => i.value);
  }
  const raw = node.value.trim();
  if (raw === "") return "";
  if (f.type === "number") return /^-?\d+$/.test(raw) ? Number(raw) : raw;
  if (f.type === "datetime") {
    const d = new Date(raw);
    return Number.isNaN(d.getTime()) ? raw : d.toISOString();
  }
  if (f.type === "words") return raw.split(",").map((w) => w.trim()).filter(Boolean);
  return raw;
}

function put(body, name, value) {
  const parts = name.split(".");
  let at = body;
  for (const p of parts.slice(0, -1)) at = (at[p] = at[p] || {});
  at[parts.at(-1)] = value;
}

// ------------------------------------------------------------------ writing

function path(item) {
  return `${R.list}/${encodeURIComponent(keyOf(item))}`;
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  const editing = state.editing !== null;
  const body = read(R.fields, [], editing, state.editing);
  let res;
  let key = editing ? keyOf(state.editing) : null;
  if (R.write === "team") {
    key = editing ? key : ($(`#${idFor(["id"])}`).value.trim());
    if (!key) {
      showErrors([{ text: `${label("id")}: ${t("err.missing")}`, target: idFor(["id"]) }]);
      return;
    }
    res = await api("PUT", `${R.list}/${encodeURIComponent(key)}`, { tenant: TENANT },
                    { members: body.members || [] });
  } else if (editing) {
    res = await api("PATCH", path(state.editing), { tenant: TENANT }, body);
  } else {
    res = await api("POST", R.list, { tenant: TENANT }, body);
  }
  if (res.status >= 200 && res.status < 300) {
    const saved = key || keyOf(R.write === "create" ? res.data : body);
    say(t(editing ? "admin.changed" : "admin.added", { id: saved }), "good");
    showPanel(false);
    state.editing = null;
    await load();
    focusRow(saved);
    return;
  }
  showErrors(problem(res, true));
}

async function unassign(item, button) {
  const res = await api("PATCH", path(item), { tenant: TENANT }, { resident: null });
  if (res.status === 200) {
    say(t("admin.unassigned", { id: keyOf(item), resident: item.resident }), "good");
    await load();
    focusRow(keyOf(item));
  } else {
    say(problem(res).join(" "), "bad");
    button.focus();
  }
}

function askRemove(item, opener) {
  state.removing = item;
  state.opener = opener;
  clearErrors();
  $("#form").hidden = true;
  $("#form").replaceChildren();
  $("#panel-title").textContent = t("admin.remove_title", { id: keyOf(item) });
  $("#confirm-text").textContent = t("admin.remove_ask", { id: keyOf(item) });
  $("#confirm-cascade").hidden = true;
  $("#confirm").hidden = false;
  showPanel(true);
  $("#confirm-no").focus();
}

async function remove(cascade) {
  const item = state.removing;
  if (!item) return;
  const params = { tenant: TENANT };
  if (cascade) params.cascade = "true";
  const res = await api("DELETE", path(item), params);
  if (res.status === 200) {
    say(t("admin.removed", { id: keyOf(item) }), "good");
    showPanel(false);
    state.removing = null;
    await load();
    $("#list-title").focus();
    return;
  }
  showErrors(problem(res, false));
  if (res.status === 409 && R.cascade) {
    $("#confirm-cascade").hidden = false;
  }
}

// ------------------------------------------------------------------ what the API said

function where(loc) {
  // ["body", "grants", 0, "granted"] -> "Beviljade insatser, rad 1, Beviljad från"
  const parts = [];
  let fields = R.fields;
  const rest = loc[0] === "body" || loc[0] === "query" ? loc.slice(1) : loc;
  for (let i = 0; i < rest.length; i++) {
    const seg = rest[i];
    if (typeof seg === "number") { parts.push(t("admin.row", { n: seg + 1 })); continue; }
    let f = fields.find((x) => x.name === seg);
    if (!f && i + 1 < rest.length) {  // a nested name: settings.url
      f = fields.find((x) => x.name === `${seg}.${rest[i + 1]}`);
      if (f) i += 1;
    }
    parts.push(f ? label(f.name) : String(seg));
    fields = f ? f.fields : [];
  }
  return parts.join(", ");
}

function targetOf(loc) {
  const rest = loc[0] === "body" ? loc.slice(1) : loc;
  for (let n = rest.length; n > 0; n--) {
    const id = idFor(rest.slice(0, n));
    const nested = idFor([rest.slice(0, n).join(".")]);
    if (document.getElementById(id)) return id;
    if (document.getElementById(nested)) return nested;
  }
  return null;
}

function errText(e) {
  const key = `err.${e.type}`;
  return M[key] ? t(key, e.ctx || {}) : e.msg;
}

function problem(res, withFields) {
  const detail = res.data && res.data.detail;
  if (res.status === 422 && Array.isArray(detail)) {
    return detail.map((e) => {
      const place = where(e.loc || []);
      const text = place ? `${place}: ${errText(e)}` : errText(e);
      return withFields ? { text, target: targetOf(e.loc || []) } : text;
    });
  }
  const said = typeof detail === "string" ? detail : "";
  const name = (CONFIG.tenants.find((x) => x.id === TENANT) || {}).name || TENANT;
  const key = { 403: "admin.err.forbidden", 404: "admin.err.gone", 409: "admin.err.conflict",
                422: "admin.err.invalid" }[res.status] || "admin.err.other";
  const texts = [{ text: t(key, { tenant: name }), target: null }];
  // a detail that starts with a field's name ("settings.url: refused ...") names that field
  const named = /^([\w.]+): (.+)$/s.exec(said);
  const field = named && R.fields.find((f) => f.name === named[1]);
  if (field) {
    texts.push({ text: `${label(field.name)}: ${t("admin.err.navet_said", { detail: named[2] })}`,
                 target: idFor([field.name]) });
  } else if (said) {
    texts.push({ text: t("admin.err.navet_said", { detail: said }), target: null });
  }
  return withFields ? texts : texts.map((e) => e.text);
}

function showErrors(list) {
  const box = $("#errors");
  const ul = $("#errors-list");
  ul.replaceChildren();
  for (const item of list) {
    const e = typeof item === "string" ? { text: item, target: null } : item;
    const li = el("li");
    if (e.target) {
      const a = el("a", e.text);
      a.href = `#${e.target}`;
      a.addEventListener("click", (ev) => {
        ev.preventDefault();
        const node = document.getElementById(e.target);
        const focusable = node && (node.matches("input, select") ? node
          : node.querySelector("input, select"));
        if (focusable) focusable.focus();
      });
      li.append(a);
      const node = document.getElementById(e.target);
      if (node) node.setAttribute("aria-invalid", "true");
    } else {
      li.textContent = e.text;
    }
    ul.append(li);
  }
  box.hidden = false;
  box.focus();
}

function clearErrors() {
  $("#errors").hidden = true;
  $("#errors-list").replaceChildren();
  document.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
}

function say(text, tone) {
  const r = $("#result");
  r.textContent = text;
  r.className = `result ${tone || ""}`;
}

function focusRow(key) {
  const row = [...document.querySelectorAll("#items tbody tr")].find((r) => r.dataset.key === key);
  const button = row && row.querySelector("button");
  if (button) button.focus();
  else $("#list-title").focus();
}

// ------------------------------------------------------------------ start

$("#list-title").tabIndex = -1;
$("#form").addEventListener("submit", submit);
$("#confirm-yes").addEventListener("click", () => remove(false));
$("#confirm-cascade").addEventListener("click", () => remove(true));
$("#confirm-no").addEventListener("click", close);
$("#panel").addEventListener("keydown", (ev) => { if (ev.key === "Escape") close(); });
const addButton = $("#add");
if (addButton) addButton.addEventListener("click", () => open(null, addButton));
load().catch((err) => say(String(err.message || err), "bad"));
