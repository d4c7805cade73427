// Navet console: a GPS alarm on a map (the alarm queue's detail). Draws, as plain SVG, the
// resident's geofences, the device's recent track and the alarm's position (highlighted,
// with its accuracy circle), a scale bar and a north arrow, and says the same in words
// (metres outside the fence) for whoever cannot see the drawing. Map tiles go underneath
// only when the municipality configured a tile source (console.map_tiles); without one,
// the default, the drawing stands alone and needs nothing from the internet.
// Web Mercator throughout, so tiles and drawing line up. t() and el() come from console.js.
"use strict";

const MAP_W = 480;
const MAP_H = 360;
const MAP_PAD = 0.18;          // share of the span kept free around what is drawn
const TILE = 256;
const EARTH_M = 40075016.686;  // the equator's length: metres per world unit at lat 0
const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function mercator(lon, lat) {
  // world units: x and y in 0..1, y growing southwards
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
}

function rings(geometry) {
  // GeoJSON Polygon / MultiPolygon: a list of polygons, each a list of rings of [lon, lat]
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

function niceLength(maxM) {
  // the longest 1, 2 or 5 x 10^n metres not longer than maxM
  const p = 10 ** Math.floor(Math.log10(Math.max(maxM, 1)));
  for (const f of [5, 2, 1]) if (f * p <= maxM) return f * p;
  return p;
}

function metres(m) {
  const lang = document.documentElement.lang === "en" ? "en-GB" : "sv-SE";
  return Math.round(m).toLocaleString(lang);
}

function mapTime(iso, zone) {
  // the municipality's clock (the tenant's time zone), whatever the device's
  if (!iso) return "–";
  const lang = document.documentElement.lang === "en" ? "en-GB" : "sv-SE";
  const options = { hour: "2-digit", minute: "2-digit" };
  try {
    return new Date(iso).toLocaleTimeString(lang, { ...options, timeZone: zone || undefined });
  } catch (e) {  // a zone this browser does not know
    return new Date(iso).toLocaleTimeString(lang, options);
  }
}

// Whether an alarm (as GET /api/v1/alarms gives it) has a position to draw.
function hasPosition(a) {
  return !!(a && ((a.location && a.location.point) ||
    (a.history || []).some((h) => h.data && h.data.position)));
}

// The words for the drawing: where the alarm is against the fences, and the track.
function mapText(data) {
  const parts = [];
  const p = data.position;
  const names = data.fences.map((f) => f.name).join(", ");
  if (!p) parts.push(t("map.no_position"));
  else if (!data.fences.length) parts.push(t("map.no_fence"));
  else if (data.outside_m > 0) {
    parts.push(t("map.outside", { m: metres(data.outside_m), fence: names }));
  } else parts.push(t("map.inside", { fence: names }));
  if (p && p.accuracy_m != null) parts.push(t("map.accuracy", { m: metres(p.accuracy_m) }));
  const zone = data.timezone;
  if (p && p.time) parts.push(t("map.when", { time: mapTime(p.time, zone) }));
  if (data.track.length) {
    parts.push(t("map.track", { n: data.track.length, from: mapTime(data.track[0].time, zone),
                                to: mapTime(data.track[data.track.length - 1].time, zone) }));
  }
  return parts.join(" ");
}

// Draw ``data`` (GET /api/v1/alarms/{id}/map) into ``box``; ``tiles`` is the configured
// URL template ("https://…/{z}/{x}/{y}.png") or empty; ``ids`` names the drawing's title
// and description (unique on the page).
function drawMap(box, words, data, tiles, attribution, ids = "map-svg") {
  box.replaceChildren();
  const text = mapText(data);
  words.textContent = text;
  const points = [];
  for (const f of data.fences) {
    for (const poly of rings(f.geometry)) for (const [lon, lat] of poly[0] || []) points.push(mercator(lon, lat));
  }
  for (const fix of data.track) points.push(mercator(fix.lon, fix.lat));
  if (data.position) points.push(mercator(data.position.lon, data.position.lat));
  if (!points.length) return;

  // fit what is drawn into the view, the same scale both ways
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of points) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
  const centreLat = data.position ? data.position.lat : data.fences.length
    ? rings(data.fences[0].geometry)[0][0][0][1] : data.track[0].lat;
  const mPerUnit = EARTH_M * Math.cos((centreLat * Math.PI) / 180);
  const minSpan = 100 / mPerUnit;  // at least 100 m across
  const spanW = Math.max(x1 - x0, minSpan) * (1 + 2 * MAP_PAD);
  const spanH = Math.max(y1 - y0, minSpan) * (1 + 2 * MAP_PAD);
  const scale = Math.min(MAP_W / spanW, MAP_H / spanH);  // px per world unit
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const px = ([x, y]) => [MAP_W / 2 + (x - cx) * scale, MAP_H / 2 + (y - cy) * scale];
  const at = (lon, lat) => px(mercator(lon, lat));
  const r = (n) => n.toFixed(1);

  const root = svg("svg", { viewBox: `0 0 ${MAP_W} ${MAP_H}`, class: "gpsmap", role: "img",
                            "aria-labelledby": `${ids}-title ${ids}-desc` });
  root.append(svg("title", { id: `${ids}-title` }, t("map.title")),
              svg("desc", { id: `${ids}-desc` }, text),
              svg("rect", { x: 0, y: 0, width: MAP_W, height: MAP_H, class: "ground" }));

  if (tiles) {
    // the configured tiles underneath, at the zoom nearest the drawing's scale
    const z = Math.max(0, Math.min(19, Math.round(Math.log2(scale / TILE))));
    const n = 2 ** z;
    const size = scale / n;  // px per tile
    const left = cx - MAP_W / 2 / scale;
    const top = cy - MAP_H / 2 / scale;
    const g = svg("g", { class: "tiles" });
    for (let tx = Math.floor(left * n); tx < Math.ceil((left + MAP_W / scale) * n); tx++) {
      for (let ty = Math.floor(top * n); ty < Math.ceil((top + MAP_H / scale) * n); ty++) {
        if (ty < 0 || ty >= n) continue;
        const wrapped = ((tx % n) + n) % n;
        const href = tiles.replaceAll("{z}", z).replaceAll("{x}", wrapped).replaceAll("{y}", ty);
        const [ix, iy] = px([tx / n, ty / n]);
        g.append(svg("image", { href, x: r(ix), y: r(iy), width: r(size + 0.5),
                                height: r(size + 0.5), preserveAspectRatio: "none" }));
      }
    }
    root.append(g);
  }

  for (const f of data.fences) {
    const d = rings(f.geometry).map((poly) => poly.map((ring) =>
      `M${ring.map(([lon, lat]) => at(lon, lat).map(r).join(" ")).join("L")}Z`).join(""))
      .join("");
    const path = svg("path", { d, class: `fence fence-${f.kind}${f.enforced ? " enforced" : ""}`,
                               "fill-rule": "evenodd", "data-fence": f.id });
    path.append(svg("title", {}, t(f.enforced ? "map.fence_enforced" : "map.fence_idle",
                                    { fence: f.name })));
    root.append(path);
  }

  if (data.track.length) {
    const line = data.track.map((fix) => at(fix.lon, fix.lat).map(r).join(",")).join(" ");
    root.append(svg("polyline", { points: line, class: "track" }));
    const fixes = svg("g", { class: "fixes" });
    for (const fix of data.track) {
      const [fx, fy] = at(fix.lon, fix.lat);
      fixes.append(svg("circle", { cx: r(fx), cy: r(fy), r: 3, class: "fix" }));
    }
    root.append(fixes);
  }

  if (data.position) {
    const p = data.position;
    const [ax, ay] = at(p.lon, p.lat);
    if (p.accuracy_m) {
      root.append(svg("circle", { cx: r(ax), cy: r(ay), class: "accuracy",
                                  r: r(Math.max(4, (p.accuracy_m / mPerUnit) * scale)) }));
    }
    const mark = svg("circle", { cx: r(ax), cy: r(ay), r: 8, class: "alarm-position" });
    mark.append(svg("title", {}, t("map.legend.alarm")));
    root.append(mark);
  }

  // scale bar: a round length near a quarter of the width, bottom left
  const barM = niceLength((MAP_W / 4 / scale) * mPerUnit);
  const barPx = (barM / mPerUnit) * scale;
  const bar = svg("g", { class: "scale", transform: `translate(16 ${MAP_H - 18})` });
  bar.append(svg("rect", { x: -6, y: -22, width: r(barPx + 12), height: 30, class: "plate" }),
             svg("path", { d: `M0 -6V0H${r(barPx)}V-6` }),
             svg("text", { x: r(barPx / 2), y: -9, "text-anchor": "middle" },
                 t("map.metres", { m: metres(barM) })));
  root.append(bar);

  // north arrow, top right: Web Mercator keeps north straight up
  const north = svg("g", { class: "north", transform: `translate(${MAP_W - 28} 20)` });
  north.append(svg("rect", { x: -16, y: -14, width: 32, height: 52, class: "plate" }),
               svg("path", { d: "M0 0L8 22L0 17L-8 22Z" }),
               svg("text", { x: 0, y: 34, "text-anchor": "middle" }, t("map.north")));
  root.append(north);

  if (tiles && attribution) {
    root.append(svg("text", { x: MAP_W - 4, y: MAP_H - 4, "text-anchor": "end",
                              class: "attribution" }, attribution));
  }
  box.append(root);
}
