// Navet console: what every screen's script shares. The catalogue the page carries (t),
// elements filled only via textContent (el), and /api/v1 calls with the session cookie and
// its CSRF token (api; a 401 sends the person to sign in again). Loaded before the screen's
// own script, whose top level sees these names.
"use strict";

const M = JSON.parse(document.getElementById("messages").textContent);
const CONFIG = JSON.parse(document.getElementById("console-config").textContent);
const CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

function t(key, fields) {
  let text = M[key] ?? key;
  for (const [k, v] of Object.entries(fields || {})) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

// Signing out ends the session before the answer's redirect arrives; a call that meets the
// 401 in between must not send the person to "session expired" instead of "signed out".
let signingOut = false;
document.addEventListener("submit", (e) => {
  if (new URL(e.target.action, location.origin).pathname === "/signout") signingOut = true;
});

async function api(method, path, params, body) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) url.searchParams.append(k, v);
  const headers = { "X-CSRF-Token": CSRF };
  if (CONFIG.development) headers["X-Navet-Actor"] = CONFIG.me;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url, { method, headers, credentials: "same-origin",
                                 body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) {
    // The page is leaving, to sign in again or with the sign-out's answer: the call waits
    // for that instead of failing. A failure here reached no one but as an uncaught error
    // from a background reload (an event or the stream's opening during the sign-out).
    if (!signingOut) location.assign(`/signin?why=expired&next=${encodeURIComponent(location.pathname)}`);
    return new Promise(() => {});
  }
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, data };
}
