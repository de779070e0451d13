// medialake search page: plain JavaScript, no libraries, everything served by `medialake serve`.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { file: null, moments: [], terms: [] };

// A page opened with ?token=... got a cookie from the server; keep the token out of the address bar.
{
  const p = new URLSearchParams(location.search);
  if (p.has("token")) {
    p.delete("token");
    history.replaceState(null, "", location.pathname + (p.toString() ? "?" + p : ""));
  }
}

const FILTERS = ["type", "date_from", "date_to", "path_prefix", "limit"];

function fmtTime(s) {
  s = Math.max(0, Number(s) || 0);
  const m = Math.floor(s / 60);
  const sec = (s - m * 60).toFixed(1).padStart(4, "0");
  return `${m}:${sec}`;
}

function baseName(uri) {
  const parts = String(uri || "").split("/");
  return parts[parts.length - 1] || uri || "(unknown)";
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// Text with the query's words marked, built from text nodes (never innerHTML).
function marked(text, terms) {
  const span = el("span");
  text = String(text || "");
  if (!terms.length) { span.textContent = text; return span; }
  const esc = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const re = new RegExp(`(${esc.join("|")})`, "gi");
  let last = 0;
  for (const m of text.matchAll(re)) {
    span.append(text.slice(last, m.index), el("mark", {}, m[0]));
    last = m.index + m[0].length;
  }
  span.append(text.slice(last));
  return span;
}

function filterParams() {
  const p = {};
  for (const id of FILTERS) {
    const v = $(id).value.trim();
    if (v) p[id] = v;
  }
  return p;
}

function setStatus(msg, isError = false) {
  $("status").textContent = msg;
  $("status").classList.toggle("error", isError);
}

async function apiError(resp) {
  try {
    const body = await resp.json();
    const d = body.detail;
    if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
    return d || resp.statusText;
  } catch (_) {
    return `${resp.status} ${resp.statusText}`;
  }
}

// ---- the address carries the query and filters: /?q=...&type=..., reloadable and shareable ----

function pageParams() {
  const p = new URLSearchParams();
  const q = $("q").value.trim();
  if (q) p.set("q", q);
  for (const [k, v] of Object.entries(filterParams())) if (!(k === "limit" && v === "12")) p.set(k, v);
  return p;
}

function remember(extra = {}, replace = false) {
  const p = pageParams();
  for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined) p.set(k, v);
  const url = location.pathname + (p.toString() ? "?" + p : "");
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
}

function fromAddress() {
  const p = new URLSearchParams(location.search);
  $("q").value = p.get("q") || "";
  for (const id of FILTERS) $(id).value = p.get(id) || (id === "limit" ? "12" : "");
  return p;
}

async function route() {
  const p = fromAddress();
  if (p.get("q")) await runSearch(null, false); else showLanding();
  if (p.get("asset")) openAsset(p.get("asset"), Number(p.get("t")) || 0, false);
  else if (!$("viewer").hidden) closeViewer(false);
}

function showView(which) {
  $("landing").hidden = which !== "landing";
  $("nomatch").hidden = which !== "nomatch";
  $("results").hidden = which !== "results";
}

async function runSearch(ev, push = true) {
  if (ev) ev.preventDefault();
  const q = $("q").value.trim();
  if (!q && !state.file) {
    if (push) remember();
    showLanding();
    setStatus("Type some words or drop a file to search with.");
    return;
  }
  if (push && !state.file) remember();
  const params = filterParams();
  let resp;
  setStatus("Searching…");
  $("go").disabled = true;
  try {
    if (state.file) {
      const form = new FormData();
      form.append("file", state.file, state.file.name);
      if (q) form.append("q", q);
      for (const [k, v] of Object.entries(params)) form.append(k, v);
      resp = await fetch("api/search", { method: "POST", body: form });
    } else {
      resp = await fetch("api/search?" + new URLSearchParams({ q, ...params }));
    }
    if (!resp.ok) { setStatus(await apiError(resp), true); renderResults([]); return; }
    state.terms = q.split(/\s+/).filter((t) => t.length > 2);
    const moments = await resp.json();
    renderResults(moments);
    if (moments.length) {
      showView("results");
      setStatus(`${moments.length} moment${moments.length > 1 ? "s" : ""}`);
    } else {
      showNoMatch(q, params);
    }
  } catch (e) {
    setStatus(`Search failed: ${e}`, true);
  } finally {
    $("go").disabled = false;
  }
}

function showNoMatch(q, params) {
  const filters = Object.entries(params).filter(([k]) => k !== "limit");
  $("nomatch-title").textContent = q ? `No matches for “${q}”` : "No matches for this file";
  const why = "nothing in the library says, shows or sounds like that. Try other words";
  $("nomatch-why").textContent = filters.length
    ? `With ${filters.map(([k, v]) => `${k.replace("_", " ")} ${v}`).join(", ")}: ${why}, or fewer filters.`
    : `${why[0].toUpperCase()}${why.slice(1)}.`;
  $("nomatch-clear").hidden = !filters.length;
  setStatus("No matches.");
  showView("nomatch");
}

function thumbUrl(m) {
  const seg = m.thumbnail_segment_id || m.segment_id;
  return seg ? `api/assets/${m.asset_id}/thumbnail/${seg}` : null;
}

function renderResults(moments) {
  state.moments = moments;
  const grid = $("results");
  grid.replaceChildren();
  moments.forEach((m, i) => {
    const name = baseName(m.asset_uri);
    const span = m.media_type === "image" ? "" : `${fmtTime(m.start_s)} – ${fmtTime(m.end_s)}`;
    const thumb = el("div", { class: `thumb ${m.media_type}` });
    const url = thumbUrl(m);
    if (url) {
      const img = el("img", { src: url, alt: `${name} ${span}`, loading: "lazy" });
      img.addEventListener("error", () => img.remove());
      thumb.append(img);
    }
    thumb.append(el("span", { class: "badge" }, m.media_type));
    const card = el("article", {
      class: "card", tabindex: "0", role: "button",
      dataset: { index: i, asset: m.asset_id, start: m.start_s, end: m.end_s, type: m.media_type },
      onclick: () => openViewer(m),
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openViewer(m); } },
    },
      thumb,
      el("div", { class: "card-body" },
        el("div", { class: "name", title: m.asset_uri || "" }, name),
        el("div", { class: "span" }, span, el("span", { class: "score" }, Number(m.score).toFixed(3))),
        el("p", { class: "text" }, marked(m.text, state.terms)),
      ),
    );
    grid.append(card);
  });
}

// ---- the asset view: player at the moment, summary, transcript that follows playback ----

// What the file says about itself (EXIF/XMP/IPTC/container tags), as short facts.
function fileTags(asset) {
  const md = asset.metadata || {};
  const list = (v) => (Array.isArray(v) ? v.join(", ") : v);
  const camera = [asset.camera_make, asset.camera_model].filter(Boolean).join(" ");
  return [
    asset.taken_at ? `taken ${String(asset.taken_at).slice(0, 16).replace("T", " ")}` : null,
    camera || null, md.lens,
    asset.gps_lat != null && asset.gps_lon != null ? `GPS ${asset.gps_lat.toFixed(5)}, ${asset.gps_lon.toFixed(5)}` : null,
    md.title, md.description, md.artist, md.album,
    md.keywords ? `keywords: ${list(md.keywords)}` : null,
    md.people ? `people: ${list(md.people)}` : null,
  ].filter(Boolean);
}

let player = null;
let follow = null;  // the requestAnimationFrame loop that moves the highlight while playing

function seek(t, play = true) {
  if (!player || player.tagName === "IMG") return;
  const go = () => {
    player.currentTime = t;
    if (play) player.play().catch(() => {});
  };
  if (player.readyState >= 1) go(); else player.addEventListener("loadedmetadata", go, { once: true });
}

function openViewer(m) {
  openAsset(m.asset_id, Number(m.start_s) || 0, true, m);
}

// A segment's words: spans with their times when the segment has word timings, else its text.
function lineWords(s, assetType) {
  const words = Array.isArray(s.words) ? s.words.filter((w) => w && w.word) : [];
  if (!words.length) {
    const text = s.transcript || s.text || [s.ocr_text, s.caption].filter(Boolean).join(" · ");
    return el("span", {}, marked(text, state.terms));
  }
  const span = el("span", { class: "words" });
  for (const w of words) {
    const unsure = typeof w.probability === "number" && w.probability < 0.5;
    span.append(el("span", { class: unsure ? "w unsure" : "w", dataset: { s: w.start, e: w.end } },
      marked(String(w.word).trim(), state.terms)), " ");
  }
  return span;
}

async function openAsset(assetId, t = 0, push = true, m = null) {
  const viewer = $("viewer");
  const media = `api/assets/${assetId}/media`;
  $("v-title").textContent = m ? baseName(m.asset_uri) : "";
  $("v-meta").textContent = m && m.media_type !== "image" ? `${m.media_type} · moment ${fmtTime(m.start_s)} – ${fmtTime(m.end_s)}` : "";
  $("v-summary").textContent = "";
  $("v-tags").textContent = "";
  $("v-transcript").replaceChildren();
  $("v-player").replaceChildren();
  viewer.hidden = false;
  document.body.classList.add("viewing");
  $("v-close").focus({ preventScroll: true });
  if (push) remember({ asset: assetId, t: t ? t.toFixed(1) : null });

  const resp = await fetch(`api/assets/${assetId}`);
  if (!resp.ok) { $("v-summary").textContent = await apiError(resp); return; }
  const asset = await resp.json();
  const type = asset.media_type;
  $("v-title").textContent = asset.name || baseName(asset.uri);
  if (type === "image") {
    player = el("img", { class: "large", src: media, alt: asset.name || "" });
  } else {
    // The media fragment starts the browser at the moment; seek() makes sure once metadata is in.
    player = el(type === "video" ? "video" : "audio", { id: "player", controls: true, preload: "auto", src: `${media}#t=${t}` });
    player.addEventListener("timeupdate", highlightLine);
    player.addEventListener("play", startFollowing);
    player.addEventListener("seeked", highlightLine);
    seek(t, true);
  }
  $("v-player").append(player);
  const facts = [type, asset.duration_s ? `${fmtTime(asset.duration_s)} long` : null,
    asset.width && asset.height ? `${asset.width}×${asset.height}` : null, asset.codecs, asset.uri].filter(Boolean);
  $("v-meta").textContent = facts.join(" · ");
  $("v-tags").textContent = fileTags(asset).join(" · ");
  $("v-summary").textContent = asset.summary || "(no summary)";
  const end = m ? Number(m.end_s) : t;
  const lines = asset.segments.filter((s) => s.transcript || s.text || s.ocr_text || s.caption || (s.words || []).length);
  if (!lines.length) $("v-transcript").append(el("li", { class: "empty" }, "(no transcript)"));
  for (const s of lines) {
    const inMoment = m && s.start_s < end && s.end_s > t;
    $("v-transcript").append(el("li", { class: inMoment ? "line current" : "line", dataset: { start: s.start_s, end: s.end_s } },
      el("button", { type: "button", class: "seek", title: "play from here", onclick: () => seek(s.start_s) },
        type === "image" ? "text" : fmtTime(s.start_s)),
      lineWords(s, type)));
  }
  highlightLine();
}

function highlightLine() {
  if (!player || player.tagName === "IMG") return;
  const t = player.currentTime;
  for (const li of document.querySelectorAll("#v-transcript li.line")) {
    const on = t >= Number(li.dataset.start) && t < Number(li.dataset.end);
    if (on && !li.classList.contains("playing")) li.scrollIntoView({ block: "nearest" });
    li.classList.toggle("playing", on);
  }
  for (const w of document.querySelectorAll("#v-transcript .w")) {
    w.classList.toggle("now", t >= Number(w.dataset.s) && t < Number(w.dataset.e));
  }
}

function startFollowing() {
  cancelAnimationFrame(follow);
  const step = () => {
    highlightLine();
    if (player && !player.paused && !player.ended) follow = requestAnimationFrame(step);
  };
  follow = requestAnimationFrame(step);
}

function closeViewer(push = true) {
  if (player && player.pause) player.pause();
  cancelAnimationFrame(follow);
  $("viewer").hidden = true;
  document.body.classList.remove("viewing");
  if (push) remember();
}

// ---- the landing view: the library at a glance and the newest assets ----

async function showLanding() {
  showView("landing");
  setStatus("");
  let lib;
  try {
    const resp = await fetch("api/library");
    if (!resp.ok) { setStatus(await apiError(resp), true); return; }
    lib = await resp.json();
  } catch (e) { setStatus(`Cannot load the library: ${e}`, true); return; }
  const t = lib.totals || {};
  const tiles = [el("div", { class: "tile" }, el("b", {}, String(t.assets || 0)), el("span", {}, "assets")),
    el("div", { class: "tile" }, el("b", {}, (t.hours || 0).toFixed(2)), el("span", {}, "hours of media")),
    el("div", { class: "tile" }, el("b", {}, String(t.segments || 0)), el("span", {}, "segments"))];
  for (const bt of lib.by_type || []) {
    tiles.push(el("div", { class: `tile type-${bt.media_type}`, dataset: { type: bt.media_type } },
      el("b", {}, String(bt.assets)), el("span", {}, `${bt.media_type}${bt.hours ? ` · ${bt.hours.toFixed(2)} h` : ""}`)));
  }
  $("glance").replaceChildren(...tiles);
  const r = lib.last_run;
  $("last-run").textContent = r ? `${String(r.started_at).replace("T", " ").slice(0, 16)} · ${r.source} · ` +
    `${r.ingested} ingested, ${r.skipped} skipped, ${r.failed} failed · ${r.segments} segments · ${Math.round(r.seconds)} s` : "No run yet.";
  const fails = (lib.failures || []).map((f) => el("li", {}, el("b", {}, `${f.assets}×`), " ", f.reason,
    el("span", { class: "example" }, ` e.g. ${baseName(f.example)}`)));
  $("failures").replaceChildren(...(fails.length ? fails : [el("li", { class: "none" }, "None.")]));
  $("recent").replaceChildren(...(lib.recent || []).map((a) => {
    const thumb = el("div", { class: `thumb ${a.media_type}` });
    const img = el("img", { src: a.thumbnail_url, alt: a.name, loading: "lazy" });
    img.addEventListener("error", () => img.remove());
    thumb.append(img, el("span", { class: "badge" }, a.media_type));
    const open = () => openAsset(a.asset_id, 0, true, { asset_uri: a.uri, media_type: a.media_type, start_s: 0, end_s: 0 });
    return el("article", { class: "card", tabindex: "0", role: "button", dataset: { asset: a.asset_id, type: a.media_type },
      onclick: open, onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } } },
    thumb, el("div", { class: "card-body" }, el("div", { class: "name", title: a.uri }, a.name),
      el("div", { class: "span" }, a.media_type === "image" ? "image" : `${fmtTime(a.duration_s)} long`)));
  }));
}

// ---- keyboard: / to search, arrows (or j/k) between cards, Enter to open, Esc to close ----

function moveFocus(step) {
  const grid = !$("results").hidden ? $("results") : $("recent");
  const cards = [...grid.querySelectorAll(".card")];
  if (!cards.length) return;
  const i = cards.indexOf(document.activeElement);
  const next = cards[Math.max(0, Math.min(cards.length - 1, i < 0 ? 0 : i + step))];
  next.focus();
  next.scrollIntoView({ block: "nearest" });
}

function moveLine(step) {
  const lines = [...document.querySelectorAll("#v-transcript li.line")];
  if (!lines.length || !player || player.tagName === "IMG") return;
  const now = lines.findIndex((li) => li.classList.contains("playing"));
  const target = lines[Math.max(0, Math.min(lines.length - 1, (now < 0 ? -1 : now) + step))];
  seek(Number(target.dataset.start));
}

document.addEventListener("keydown", (e) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (!$("viewer").hidden) {
    if (e.key === "Escape") { e.preventDefault(); closeViewer(); }
    else if (!typing && (e.key === "j" || e.key === "k")) { e.preventDefault(); moveLine(e.key === "j" ? 1 : -1); }
    return;
  }
  if (typing) { if (e.key === "Escape") document.activeElement.blur(); return; }
  if (e.key === "/") { e.preventDefault(); $("q").focus(); $("q").select(); }
  else if (["ArrowRight", "ArrowDown", "j"].includes(e.key)) { e.preventDefault(); moveFocus(e.key === "ArrowDown" ? columns() : 1); }
  else if (["ArrowLeft", "ArrowUp", "k"].includes(e.key)) { e.preventDefault(); moveFocus(e.key === "ArrowUp" ? -columns() : -1); }
});

// Cards per row of the visible grid, so ArrowDown goes to the card below.
function columns() {
  const grid = !$("results").hidden ? $("results") : $("recent");
  return Math.max(1, getComputedStyle(grid).gridTemplateColumns.split(" ").length);
}

// ---- drop zone ----

function setFile(file) {
  state.file = file;
  $("drop-name").textContent = file ? `${file.name} (${Math.round(file.size / 1024)} KB)` : "";
  $("drop-clear").hidden = !file;
  $("drop").classList.toggle("has-file", !!file);
  if (file) runSearch();
}

const drop = $("drop");
["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((t) => drop.addEventListener(t, () => drop.classList.remove("over")));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  const f = e.dataTransfer.files[0];
  if (f) setFile(f);
});
$("file").addEventListener("change", (e) => setFile(e.target.files[0] || null));
$("drop-clear").addEventListener("click", () => { $("file").value = ""; setFile(null); });

$("search-form").addEventListener("submit", runSearch);
$("v-close").addEventListener("click", () => closeViewer());
$("viewer").addEventListener("click", (e) => { if (e.target === $("viewer")) closeViewer(); });
$("nomatch-clear").addEventListener("click", () => {
  for (const id of FILTERS) $(id).value = id === "limit" ? "12" : "";
  runSearch();
});
for (const id of ["type"]) $(id).addEventListener("change", () => { if ($("q").value.trim()) runSearch(); });
window.addEventListener("popstate", route);
route();
