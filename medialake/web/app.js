// medialake search page: plain JavaScript, no libraries, everything served by `medialake serve`.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { file: null, moments: [], terms: [] };

// A page opened with ?token=... got a cookie from the server; keep the token out of the address bar.
if (new URLSearchParams(location.search).has("token")) {
  history.replaceState(null, "", location.pathname);
}

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
  for (const id of ["type", "date_from", "date_to", "path_prefix", "limit"]) {
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

async function runSearch(ev) {
  if (ev) ev.preventDefault();
  const q = $("q").value.trim();
  if (!q && !state.file) { setStatus("Type some words or drop a file to search with."); return; }
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
    setStatus(moments.length ? `${moments.length} moment${moments.length > 1 ? "s" : ""}` : "No matches.");
  } catch (e) {
    setStatus(`Search failed: ${e}`, true);
  } finally {
    $("go").disabled = false;
  }
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

// ---- the asset view: player at the moment, summary, transcript lines that seek ----

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

function seek(t, play = true) {
  if (!player || player.tagName === "IMG") return;
  const go = () => {
    player.currentTime = t;
    if (play) player.play().catch(() => {});
  };
  if (player.readyState >= 1) go(); else player.addEventListener("loadedmetadata", go, { once: true });
}

async function openViewer(m) {
  const viewer = $("viewer");
  const media = `api/assets/${m.asset_id}/media`;
  $("v-title").textContent = baseName(m.asset_uri);
  $("v-meta").textContent = m.media_type === "image" ? "image" :
    `${m.media_type} · moment ${fmtTime(m.start_s)} – ${fmtTime(m.end_s)}`;
  $("v-summary").textContent = "";
  $("v-tags").textContent = "";
  $("v-transcript").replaceChildren();
  const box = $("v-player");
  box.replaceChildren();
  if (m.media_type === "image") {
    player = el("img", { class: "large", src: media, alt: baseName(m.asset_uri) });
  } else {
    // The media fragment starts the browser at the moment; seek() makes sure once metadata is in.
    player = el(m.media_type === "video" ? "video" : "audio", {
      id: "player", controls: true, preload: "auto", src: `${media}#t=${Number(m.start_s) || 0}`,
    });
    player.addEventListener("timeupdate", highlightLine);
    seek(Number(m.start_s) || 0, true);
  }
  box.append(player);
  viewer.hidden = false;
  document.body.classList.add("viewing");
  $("v-close").focus({ preventScroll: true });

  const resp = await fetch(`api/assets/${m.asset_id}`);
  if (!resp.ok) { $("v-summary").textContent = await apiError(resp); return; }
  const asset = await resp.json();
  const facts = [asset.media_type, asset.duration_s ? `${fmtTime(asset.duration_s)} long` : null,
    asset.width && asset.height ? `${asset.width}×${asset.height}` : null, asset.codecs, asset.uri].filter(Boolean);
  $("v-meta").textContent = facts.join(" · ");
  $("v-tags").textContent = fileTags(asset).join(" · ");
  $("v-summary").textContent = asset.summary || "(no summary)";
  const lines = asset.segments.filter((s) => s.transcript || s.text || s.ocr_text || s.caption);
  if (!lines.length) $("v-transcript").append(el("li", { class: "empty" }, "(no transcript)"));
  for (const s of lines) {
    const words = s.transcript || s.text || [s.ocr_text, s.caption].filter(Boolean).join(" · ");
    const inMoment = s.start_s < m.end_s && s.end_s > m.start_s;
    $("v-transcript").append(el("li", { class: inMoment ? "line current" : "line", dataset: { start: s.start_s, end: s.end_s } },
      el("button", { type: "button", class: "seek", title: "play from here", onclick: () => seek(s.start_s) },
        asset.media_type === "image" ? "text" : fmtTime(s.start_s)),
      el("span", {}, marked(words, state.terms))));
  }
}

function highlightLine() {
  const t = player.currentTime;
  for (const li of document.querySelectorAll("#v-transcript li.line")) {
    li.classList.toggle("playing", t >= Number(li.dataset.start) && t < Number(li.dataset.end));
  }
}

function closeViewer() {
  if (player && player.pause) player.pause();
  $("viewer").hidden = true;
  document.body.classList.remove("viewing");
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
$("v-close").addEventListener("click", closeViewer);
$("viewer").addEventListener("click", (e) => { if (e.target === $("viewer")) closeViewer(); });
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("viewer").hidden) closeViewer(); });
