// Navet console: the audit search (auditors and administrators). Filters by municipality,
// actor, action and time through GET /api/v1/audit, and says whether the log's hash chain
// verifies (GET /api/v1/audit/verify). Read-only: nothing here changes the log.
"use strict";

const LOCALE = document.documentElement.lang === "en" ? "en-GB" : "sv-SE";
const $ = (sel) => document.querySelector(sel);

const when = (iso) => new Date(iso).toLocaleString(LOCALE, {
  dateStyle: "short", timeStyle: "medium" });

function iso(local) {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

async function verify(tenant) {
  const chain = $("#chain");
  const res = await api("GET", "/api/v1/audit/verify", { tenant });
  if (res.status !== 200) {
    chain.textContent = t("audit.chain_unknown");
    chain.className = "chain bad";
    return;
  }
  const v = res.data;
  chain.textContent = v.ok ? t("audit.chain_ok", { checked: v.checked })
    : t("audit.chain_bad", { first: v.first_bad ?? "?", problems: (v.problems || []).join("; ") });
  chain.className = `chain ${v.ok ? "good" : "bad"}`;
}

async function search(event) {
  if (event) event.preventDefault();
  const tenant = $("#a-tenant").value;
  if (!tenant) return;
  const params = { tenant, limit: 500 };
  const actor = $("#a-actor").value.trim();
  const action = $("#a-action").value.trim();
  if (actor) params.actor = actor;
  if (action) params.action = action;
  for (const name of ["since", "until"]) {
    const value = $(`#a-${name}`).value;
    if (value) params[name] = iso(value);
  }
  const result = $("#a-result");
  const [res] = await Promise.all([api("GET", "/api/v1/audit", params), verify(tenant)]);
  const body = $("#entries tbody");
  body.replaceChildren();
  if (res.status !== 200) {
    const said = res.data && typeof res.data.detail === "string" ? res.data.detail : "";
    result.textContent = t(res.status === 403 ? "audit.refused" : "audit.failed", { detail: said });
    result.className = "result bad";
    return;
  }
  for (const e of res.data) {
    const row = el("tr");
    const time = el("td");
    const stamp = el("time", when(e.time));
    stamp.dateTime = e.time;
    time.append(stamp);
    const subject = [e.resident && t("audit.resident", { id: e.resident }),
                     e.device && t("audit.device", { id: e.device })].filter(Boolean).join(", ");
    row.append(time, el("td", `${e.actor.id} (${e.actor.kind})`), el("td", e.action),
               el("td", subject || "\u2013"),
               el("td", e.reason ? `${e.decision}: ${e.reason}` : e.decision),
               el("td", e.seq));
    body.append(row);
  }
  result.textContent = t("audit.found", { count: res.data.length });
  result.className = "result";
}

$("#search").addEventListener("submit", search);
if (CONFIG.tenant) search().catch((err) => { $("#a-result").textContent = String(err.message || err); });
