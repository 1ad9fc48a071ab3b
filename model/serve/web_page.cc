// The page served at "/" by `sccello serve`: plain HTML + JS, no CDN, no build step. It talks to
// the /v1 API only. A URL hash (#q=TEXT, #term=CL:X, #cell=DATASET/CELL_ID) pre-fills the page
// the way a user would, which is what the headless-browser test drives.
#include "model/serve/query_service.h"

namespace sccello {

const std::string& service_web_page() {
  static const std::string page = R"SCCELLO_PAGE(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sccello</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#234;color:#fff;padding:10px 18px}header b{font-size:20px}header span{opacity:.8;margin-left:12px}
main{display:grid;grid-template-columns:1fr 1fr;gap:16px;padding:16px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px}
h2{font-size:16px;margin:0 0 8px}input,select,button{font-size:14px;padding:4px 6px}
input[type=text]{width:70%}ul{padding-left:18px;margin:6px 0}li{margin:2px 0}
a{color:#1a5fb4;cursor:pointer;text-decoration:none}a:hover{text-decoration:underline}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{border-bottom:1px solid #eee;padding:3px 5px;text-align:left}
.muted{color:#777;font-size:13px}.err{color:#b00020}.id{font-family:monospace;font-size:12px;color:#555}
svg text{font-size:11px}
</style></head><body>
<header><b>sccello</b><span id="status">loading…</span></header>
<main>
<section><h2>Cell Ontology</h2>
<input id="q" type="text" placeholder="search terms by name, e.g. T cell" autocomplete="off">
<select id="release"></select>
<ul id="results"></ul>
<div id="term"></div>
</section>
<section><h2>Similar cells</h2>
<div><select id="index"></select> <select id="dataset"></select></div>
<div style="margin-top:6px"><input id="cell" type="text" placeholder="DATASET/CELL_ID or pick a dataset and a position">
<button id="go">Find similar</button></div>
<p class="muted" id="hitinfo"></p>
<table id="hits"><thead></thead><tbody></tbody></table>
</section>
</main>
<script>
"use strict";
const $ = id => document.getElementById(id);
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
async function api(path, body) {
  const init = body ? {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)} : {};
  const res = await fetch(path, init);
  const json = await res.json();
  if (!res.ok) throw new Error(json.error ? json.error.message : res.statusText);
  return json;
}
function release() { const r = $("release").value; return r ? "&release=" + encodeURIComponent(r) : ""; }
function termLink(id, name) {
  const a = el("a", name || id); a.title = id; a.dataset.term = id;
  a.onclick = () => showTerm(id); return a;
}
let searchSeq = 0;
async function searchTerms() {
  const text = $("q").value.trim(), seq = ++searchSeq, list = $("results");
  if (text.length < 2) { list.replaceChildren(); return; }
  try {
    const hits = await api("/v1/terms?limit=15&q=" + encodeURIComponent(text) + release());
    if (seq !== searchSeq) return;
    list.replaceChildren(...hits.map(h => { const li = el("li"); li.append(termLink(h.term_id, h.name), " ", el("span", h.term_id, "id")); return li; }));
    if (!hits.length) list.replaceChildren(el("li", "no term matches", "muted"));
  } catch (e) { list.replaceChildren(el("li", e.message, "err")); }
}
function neighbourhood(t) {
  const W = 440, rowY = [20, 75, 130], ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg"); svg.setAttribute("width", W); svg.setAttribute("height", 150);
  const parents = t.parents.slice(0, 4), children = t.children.slice(0, 6);
  const place = (items, y) => items.map((x, i) => ({x: (i + 0.5) * W / items.length, y, t: x}));
  const P = place(parents, rowY[0]), C = place(children, rowY[2]), me = {x: W / 2, y: rowY[1], t};
  const line = (a, b) => { const l = document.createElementNS(ns, "line"); l.setAttribute("x1", a.x); l.setAttribute("y1", a.y + 4); l.setAttribute("x2", b.x); l.setAttribute("y2", b.y - 10); l.setAttribute("stroke", "#aaa"); svg.append(l); };
  P.forEach(p => line(p, me)); C.forEach(c => line(me, c));
  [...P, me, ...C].forEach(n => {
    const g = document.createElementNS(ns, "text"); g.setAttribute("x", n.x); g.setAttribute("y", n.y); g.setAttribute("text-anchor", "middle");
    g.textContent = (n.t.name || n.t.term_id).slice(0, 26); if (n === me) g.setAttribute("font-weight", "bold");
    else { g.style.cursor = "pointer"; g.onclick = () => showTerm(n.t.term_id); }
    svg.append(g);
  });
  return svg;
}
async function showTerm(id) {
  const box = $("term");
  try {
    const t = await api("/v1/terms/" + encodeURIComponent(id) + "?x=1" + release());
    const parts = [el("h2", t.name), el("div", t.term_id + (t.obsolete ? " (obsolete)" : "") + (t.depth !== null ? " · depth " + t.depth : ""), "id"), el("p", t.definition, "muted")];
    if (t.parents.length || t.children.length) parts.push(neighbourhood(t));
    for (const [label, items] of [["Parents", t.parents], ["Children", t.children]]) {
      const ul = el("ul"); items.forEach(x => { const li = el("li"); li.append(termLink(x.term_id, x.name)); ul.append(li); });
      parts.push(el("b", label + " (" + items.length + ")"), ul);
    }
    box.replaceChildren(...parts);
  } catch (e) { box.replaceChildren(el("p", e.message, "err")); }
}
async function findSimilar() {
  const cell = $("cell").value.trim(), body = $("hits").tBodies[0];
  $("hitinfo").textContent = "searching…";
  try {
    const r = await api("/v1/search", {index: $("index").value, cell, k: 20});
    const q = r.results[0];
    $("hitinfo").textContent = "query " + q.query + " · " + (q.query_term_name || "no term") + " · LCA of hits: " + (q.hits_lca_name || "-");
    $("hits").tHead.replaceChildren(Object.assign(el("tr"), {innerHTML: "<th>#</th><th>cell</th><th>similarity</th><th>term</th><th>relation</th>"}));
    body.replaceChildren(...q.hits.map(h => {
      const tr = el("tr"); const td = x => { const c = el("td"); c.append(x); tr.append(c); };
      td(String(h.rank)); td(h.dataset + "/" + h.cell_id); td(h.similarity.toFixed(3)); td(termLink(h.term_id, h.name)); td(h.relation);
      return tr;
    }));
  } catch (e) { $("hitinfo").textContent = ""; body.replaceChildren(Object.assign(el("tr"), {className: "err", textContent: e.message})); }
}
async function init() {
  try {
    const [health, releases, indexes, datasets] = await Promise.all([api("/v1/health"), api("/v1/releases"), api("/v1/indexes"), api("/v1/datasets")]);
    $("status").textContent = releases.length + " releases · " + datasets.length + " datasets · " + indexes.length + " indexes";
    $("release").replaceChildren(...releases.slice().reverse().map(r => Object.assign(el("option", r.release), {value: r.release})));
    $("index").replaceChildren(...indexes.map(i => Object.assign(el("option", i.name + " (" + i.cells + " cells)"), {value: i.name})));
    $("dataset").replaceChildren(el("option", "dataset…"), ...datasets.map(d => Object.assign(el("option", d.dataset + " (" + d.cells + ")"), {value: d.dataset})));
  } catch (e) { $("status").textContent = "error: " + e.message; }
  $("q").addEventListener("input", searchTerms);
  $("release").addEventListener("change", searchTerms);
  $("go").addEventListener("click", findSimilar);
  $("cell").addEventListener("keydown", e => { if (e.key === "Enter") findSimilar(); });
  $("dataset").addEventListener("change", () => { if ($("dataset").value) $("cell").value = $("dataset").value + "/0"; });
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("q")) { $("q").value = hash.get("q"); $("q").dispatchEvent(new Event("input")); }
  if (hash.get("term")) showTerm(hash.get("term"));
  if (hash.get("cell")) { $("cell").value = hash.get("cell"); $("go").click(); }
}
init();
</script></body></html>
)SCCELLO_PAGE";
  return page;
}

}  // namespace sccello
