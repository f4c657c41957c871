// Switchboard dashboard: one ES module, no dependencies, no build step.
//
// It listens to `events` (Server-Sent Events; a `snapshot` every 500 ms), keeps the last five
// minutes of snapshots in memory to draw its own charts, and updates the connection table in
// place: rows are keyed by connection id and a cell is written only when its text changed, so
// the sort, the filter, the focus and a half-clicked Kick button survive every update. When the
// stream ends it says so in a banner and reconnects with exponential backoff and jitter; the
// first snapshot afterwards says the server is back.
//
// The admin token lives in one variable of this module: never in the URL, a cookie or storage.

const SNAPSHOT_MS = 500;
/** No snapshot for this long while connected: the server is treated as lost. */
const STALE_MS = 3000;
/** How far back the charts go at most. */
const WINDOW_MS = 5 * 60 * 1000;
/** The charts' shortest window: it grows from one minute to five as the page collects history. */
const MIN_WINDOW_MS = 60 * 1000;
/** How long the "back" banner stays. */
const BACK_BANNER_MS = 8000;
/** Queued bytes above this are shown in the alarm colour. */
const HOT_QUEUE_BYTES = 256 * 1024;

/**
 * Milliseconds to wait before reconnect attempt `attempt` (1, 2, …): 0.5 s doubling up to 8 s,
 * with jitter (50–100 % of that) so many open pages do not all knock at once.
 * @param {number} attempt
 */
function backoff(attempt) {
  const ceiling = Math.min(8000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
}

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

// ---------------------------------------------------------------------------------------------
// Formatting

const intFormat = new Intl.NumberFormat("en");

function fmtInt(n) {
  return typeof n === "number" && Number.isFinite(n) ? intFormat.format(n) : "–";
}

function fmtRate(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "–";
  if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + " M";
  if (n >= 1e4) return (n / 1e3).toFixed(n >= 1e5 ? 0 : 1) + " k";
  return n >= 10 ? intFormat.format(Math.round(n)) : n.toFixed(1);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

function fmtBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "–";
  let unit = 0;
  while (n >= 1024 && unit < BYTE_UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  return (unit === 0 ? String(n) : n.toFixed(n >= 100 ? 0 : 1)) + " " + BYTE_UNITS[unit];
}

function fmtDuration(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  }
  return `${Math.floor(s / 86400)}d ${Math.floor(s / 3600) % 24}h`;
}

function fmtClock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

function setText(el, value) {
  if (el.textContent !== value) el.textContent = value;
}

// ---------------------------------------------------------------------------------------------
// State

/** @type {EventSource | null} */
let source = null;
let attempt = 0;
/** When the server was lost (ms), or null while connected or before the first connection. */
let lostAt = null;
let everConnected = false;
let nextTryAt = 0;
let reconnectTimer = 0;
let staleTimer = 0;
let bannerTimer = 0;
/** The counters of the last snapshots (about two seconds of them), for rates; emptied at a gap. */
let recent = [];
/** Rates are averaged over this many snapshot intervals: per 500 ms they jump too much to read. */
const RATE_SPAN = 4;
/** @type {{t: number, gap?: boolean, connections?: number, msg?: number, del?: number}[]} */
const history = [];
/** The admin token, in memory only. @type {string | null} */
let token = null;

// ---------------------------------------------------------------------------------------------
// Connection to the server

function connect() {
  clearTimeout(reconnectTimer);
  const es = new EventSource("events");
  source = es;
  es.addEventListener("snapshot", (event) => {
    if (source !== es) return;
    let snapshot;
    try {
      snapshot = JSON.parse(/** @type {MessageEvent} */ (event).data);
    } catch {
      return; // A torn or foreign message: the next one comes in half a second.
    }
    onSnapshot(snapshot);
  });
  // EventSource would retry on its own at a fixed pace; we close it and retry with backoff, so
  // the page knows (and says) exactly when it is disconnected.
  es.addEventListener("error", () => {
    if (source === es) lose();
  });
  armStaleTimer();
}

function armStaleTimer() {
  clearTimeout(staleTimer);
  staleTimer = setTimeout(() => lose(), STALE_MS);
}

function lose() {
  if (source !== null) source.close();
  source = null;
  clearTimeout(staleTimer);
  clearTimeout(bannerTimer);
  if (lostAt === null) {
    lostAt = Date.now();
    recent = [];
    history.push({ t: lostAt, gap: true });
    document.body.classList.add("stale");
  }
  attempt++;
  const delay = backoff(attempt);
  nextTryAt = Date.now() + delay;
  reconnectTimer = setTimeout(connect, delay);
  showLost();
}

function showLost() {
  if (lostAt === null) return;
  const status = $("status");
  status.dataset.state = "lost";
  setText(status, everConnected ? "lost" : "unreachable");
  const wait = Math.max(0, Math.ceil((nextTryAt - Date.now()) / 1000));
  const retry = source !== null
    ? "trying again now…"
    : wait > 0
    ? `trying again in ${wait} s (attempt ${attempt})`
    : "trying again now…";
  const what = everConnected ? `Lost the server at ${fmtClock(lostAt)}` : "Cannot reach the server";
  showBanner("lost", `${what} — ${retry}. The figures below are from before.`);
  document.title = "(lost) Switchboard";
}

function showBanner(state, text) {
  const banner = $("banner");
  banner.dataset.state = state;
  setText(banner, text);
  banner.hidden = false;
}

function hideBanner() {
  const banner = $("banner");
  banner.dataset.state = "hidden";
  banner.hidden = true;
}

// The countdown in the banner moves once a second while lost.
setInterval(() => {
  if (lostAt !== null) showLost();
}, 1000);

function onSnapshot(s) {
  armStaleTimer();
  const now = Date.now();
  if (lostAt !== null) {
    const gone = Math.max(1, Math.round((now - lostAt) / 1000));
    const wasEver = everConnected;
    lostAt = null;
    attempt = 0;
    document.body.classList.remove("stale");
    if (wasEver) {
      showBanner("back", `Back at ${fmtClock(now)} — the server was unreachable for ${gone} s.`);
      bannerTimer = setTimeout(hideBanner, BACK_BANNER_MS);
    } else {
      hideBanner();
    }
  }
  everConnected = true;

  // Rates from successive snapshots; a counter that went down means the server restarted, and
  // the rates start again from this snapshot.
  const counters = {
    t: Date.parse(s.time),
    messages: s.messagesIn,
    deliveries: s.deliveries,
    bytes: s.bytesIn + s.bytesOut,
  };
  const last = recent[recent.length - 1];
  if (
    last !== undefined && !(counters.t > last.t && counters.messages >= last.messages &&
      counters.deliveries >= last.deliveries && counters.bytes >= last.bytes)
  ) recent = [];
  recent.push(counters);
  if (recent.length > RATE_SPAN + 1) recent.shift();
  let msg, del, bytes;
  const first = recent[0];
  if (first !== undefined && recent.length > 1) {
    const dt = (counters.t - first.t) / 1000;
    msg = (counters.messages - first.messages) / dt;
    del = (counters.deliveries - first.deliveries) / dt;
    bytes = (counters.bytes - first.bytes) / dt;
  }
  history.push({ t: now, connections: s.connections, msg, del });
  while (history.length > 0 && /** @type {any} */ (history[0]).t < now - WINDOW_MS - 5000) {
    history.shift();
  }

  renderStatus(s);
  renderCards(s, msg, del, bytes);
  renderDisconnects(s.disconnects ?? {});
  updateRows(Array.isArray(s.rows) ? s.rows : [], s.total);
  scheduleCharts();
}

// ---------------------------------------------------------------------------------------------
// Header, cards, disconnects

function renderStatus(s) {
  const status = $("status");
  const state = s.draining ? "draining" : "live";
  status.dataset.state = state;
  setText(status, s.draining ? "draining" : "live");
  setText($("version"), s.version ? `v${s.version}` : "");
  setText($("clock"), `updated ${fmtClock(Date.parse(s.time) || Date.now())}`);
  document.title = s.draining ? "(draining) Switchboard" : "Switchboard";
  const banner = $("banner");
  if (s.draining) {
    clearTimeout(bannerTimer);
    showBanner("draining", "The server is shutting down: it no longer accepts clients.");
  } else if (banner.dataset.state === "draining") {
    hideBanner();
  }
}

function renderCards(s, msg, del, bytes) {
  setText($("connections"), fmtInt(s.connections));
  setText($("named"), fmtInt(s.named));
  setText($("groups"), `${fmtInt(s.groups)} ${s.groups === 1 ? "group" : "groups"}`);
  setText($("msg-rate"), fmtRate(msg));
  setText($("del-rate"), fmtRate(del));
  setText($("bytes-rate"), bytes === undefined ? "–" : fmtBytes(Math.round(bytes)) + "/s");
  setText($("messages-in"), fmtInt(s.messagesIn));
  setText($("deliveries"), fmtInt(s.deliveries));
  setText($("bytes-in"), fmtBytes(s.bytesIn));
  setText($("bytes-out"), fmtBytes(s.bytesOut));
}

/** @type {Map<string, HTMLLIElement>} */
const reasonItems = new Map();

function renderDisconnects(byReason) {
  const list = $("disconnects");
  const entries = Object.entries(byReason)
    .filter(([, n]) => typeof n === "number" && n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const max = entries.reduce((m, [, n]) => Math.max(m, n), 0);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  setText($("disconnect-total"), total > 0 ? `${fmtInt(total)} since start` : "");
  $("no-disconnects").hidden = entries.length > 0;
  const keep = new Set();
  entries.forEach(([reason, n], index) => {
    keep.add(reason);
    let li = reasonItems.get(reason);
    if (li === undefined) {
      li = document.createElement("li");
      li.dataset.reason = reason;
      li.innerHTML = '<span class="reason"></span><span class="track"><span class="fill"></span>' +
        '</span><span class="n"></span>';
      /** @type {HTMLElement} */ (li.querySelector(".reason")).title = reason;
      setText(/** @type {HTMLElement} */ (li.querySelector(".reason")), reason);
      reasonItems.set(reason, li);
    }
    setText(/** @type {HTMLElement} */ (li.querySelector(".n")), fmtInt(n));
    /** @type {HTMLElement} */ (li.querySelector(".fill")).style.width = `${(n / max) * 100}%`;
    if (list.children[index] !== li) list.insertBefore(li, list.children[index] ?? null);
  });
  for (const [reason, li] of reasonItems) {
    if (!keep.has(reason)) {
      li.remove();
      reasonItems.delete(reason);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Connection table

/**
 * The columns: `key` is the row field it sorts by, `text` what the cell shows.
 * @type {{key: string, label: string, cls: string, text: (r: any) => string}[]}
 */
const COLUMNS = [
  { key: "name", label: "Name", cls: "name", text: (r) => r.name ?? "" },
  { key: "address", label: "Address", cls: "address", text: (r) => String(r.address ?? "") },
  {
    key: "groups",
    label: "Groups",
    cls: "groups",
    text: (r) => (Array.isArray(r.groups) ? r.groups.join(", ") : "") || "–",
  },
  { key: "idleS", label: "Idle", cls: "num idle", text: (r) => fmtDuration(r.idleS) },
  { key: "messagesIn", label: "Msgs in", cls: "num msgs-in", text: (r) => fmtInt(r.messagesIn) },
  {
    key: "messagesOut",
    label: "Msgs out",
    cls: "num msgs-out",
    text: (r) => fmtInt(r.messagesOut),
  },
  { key: "bytesIn", label: "Bytes in", cls: "num bytes-in", text: (r) => fmtBytes(r.bytesIn) },
  { key: "bytesOut", label: "Bytes out", cls: "num bytes-out", text: (r) => fmtBytes(r.bytesOut) },
  {
    key: "queuedBytes",
    label: "Queue",
    cls: "num queue",
    text: (r) => fmtBytes(r.queuedBytes),
  },
];

/**
 * @typedef {{tr: HTMLTableRowElement, cells: HTMLTableCellElement[], name: HTMLElement,
 *   tags: HTMLElement, kick: HTMLButtonElement, data: any, search: string}} Entry
 */

/** @type {Map<string, Entry>} */
const entries = new Map();
let sortKey = "name";
let sortDir = 1;
let filterText = "";
/** Ids whose kick is in flight: their rows stay dimmed until they leave. */
const kicking = new Set();
let lastTotal = 0;

function createEntry(id) {
  const tr = document.createElement("tr");
  tr.dataset.id = id;
  const cells = COLUMNS.map((column) => {
    const td = document.createElement("td");
    td.className = column.cls;
    td.dataset.label = column.label;
    td.dataset.col = column.key;
    tr.append(td);
    return td;
  });
  const nameCell = /** @type {HTMLTableCellElement} */ (cells[0]);
  const name = document.createElement("span");
  const tags = document.createElement("span");
  nameCell.append(name, tags);
  const kickCell = document.createElement("td");
  kickCell.className = "kick";
  const kick = document.createElement("button");
  kick.type = "button";
  kick.textContent = "Kick";
  kick.addEventListener("click", () => kickConnection(id));
  kickCell.append(kick);
  tr.append(kickCell);
  return { tr, cells, name, tags, kick, data: null, search: "" };
}

function updateEntry(entry, row) {
  entry.data = row;
  const name = row.name ?? "";
  entry.tr.dataset.name = name;
  setText(entry.name, name === "" ? "(unregistered)" : name);
  entry.name.className = name === "" ? "anon" : "";
  const tags = (row.admin ? "admin " : "") + (row.tls ? "tls" : "");
  if (entry.tags.dataset.tags !== tags) {
    entry.tags.dataset.tags = tags;
    entry.tags.replaceChildren(
      ...(row.admin ? [tag("admin", "admin")] : []),
      ...(row.tls ? [tag("TLS", "tls")] : []),
    );
  }
  for (let i = 1; i < COLUMNS.length; i++) {
    setText(/** @type {HTMLElement} */ (entry.cells[i]), COLUMNS[i].text(row));
  }
  const queue = /** @type {HTMLElement} */ (entry.cells[COLUMNS.length - 1]);
  queue.classList.toggle("hot", (row.queuedBytes ?? 0) >= HOT_QUEUE_BYTES);
  const since = Date.parse(row.connectedAt);
  if (!Number.isNaN(since)) {
    /** @type {HTMLElement} */ (entry.cells[0]).title = `connected at ${fmtClock(since)}`;
  }
  entry.kick.setAttribute("aria-label", `Kick ${name || "connection " + row.id}`);
  entry.search = [name, row.address, ...(Array.isArray(row.groups) ? row.groups : [])]
    .join(" ").toLowerCase();
}

function tag(text, cls) {
  const span = document.createElement("span");
  span.className = `tag ${cls}`;
  span.textContent = text;
  return span;
}

function updateRows(rows, total) {
  const seen = new Set();
  for (const row of rows) {
    const id = String(row.id);
    seen.add(id);
    let entry = entries.get(id);
    if (entry === undefined) {
      entry = createEntry(id);
      entries.set(id, entry);
    }
    updateEntry(entry, row);
  }
  for (const [id, entry] of entries) {
    if (!seen.has(id)) {
      entry.tr.remove();
      entries.delete(id);
      kicking.delete(id);
    }
  }
  lastTotal = typeof total === "number" ? total : rows.length;
  layoutRows();
}

function sortValue(row, key) {
  const value = row[key];
  if (key === "groups") return Array.isArray(value) ? value.join(",") : "";
  return value;
}

function compareRows(a, b) {
  const x = sortValue(a.data, sortKey);
  const y = sortValue(b.data, sortKey);
  let order;
  if (typeof x === "number" && typeof y === "number") order = x - y;
  else if (x === null || x === undefined || x === "") order = y === null || y === undefined ? 0 : 1;
  else if (y === null || y === undefined || y === "") order = -1;
  else order = String(x).localeCompare(String(y), undefined, { numeric: true });
  // Empty values stay last whichever way the column is sorted; ties keep connection order.
  const empty = x === null || x === undefined || x === "" || y === null || y === undefined ||
    y === "";
  if (order !== 0) return empty ? order : order * sortDir;
  return String(a.data.id).localeCompare(String(b.data.id), undefined, { numeric: true });
}

/** Puts the visible rows in order, moving only the rows that are out of place. */
function layoutRows() {
  const needle = filterText.trim().toLowerCase();
  const visible = [...entries.values()]
    .filter((entry) => needle === "" || entry.search.includes(needle))
    .sort(compareRows);
  const body = $("rows");
  visible.forEach((entry, index) => {
    if (body.children[index] !== entry.tr) {
      body.insertBefore(entry.tr, body.children[index] ?? null);
    }
    entry.tr.classList.toggle("leaving", kicking.has(entry.tr.dataset.id ?? ""));
  });
  while (body.children.length > visible.length) body.lastElementChild?.remove();

  $("no-rows").hidden = visible.length > 0;
  setText(
    $("no-rows"),
    entries.size === 0 ? "No clients connected." : `No client matches “${filterText.trim()}”.`,
  );
  const shown = entries.size;
  setText(
    $("row-count"),
    needle === "" ? `(${fmtInt(shown)})` : `(${fmtInt(visible.length)} of ${fmtInt(shown)})`,
  );
  const truncated = $("truncated");
  truncated.hidden = lastTotal <= shown;
  setText(
    truncated,
    `The server sends ${fmtInt(shown)} of ${fmtInt(lastTotal)} connections; /connz pages them all.`,
  );
}

/** A click on a header: the same column again turns the order round. */
function setSort(key) {
  if (sortKey === key) sortDir = -sortDir;
  else {
    sortKey = key;
    // Numbers read best largest first; names and addresses A to Z.
    sortDir = ["name", "address", "groups"].includes(key) ? 1 : -1;
  }
  showSort();
}

function showSort() {
  for (const th of document.querySelectorAll("th[data-sort]")) {
    const header = /** @type {HTMLElement} */ (th);
    if (header.dataset.sort === sortKey) {
      header.setAttribute("aria-sort", sortDir === 1 ? "ascending" : "descending");
    } else header.removeAttribute("aria-sort");
  }
  layoutRows();
}

// ---------------------------------------------------------------------------------------------
// Admin token and kick

function setToken(value) {
  token = value === "" ? null : value;
  const armed = token !== null;
  $("conns").classList.toggle("armed", armed);
  $("auth").classList.toggle("armed", armed);
  $("token-clear").hidden = !armed;
  const input = /** @type {HTMLInputElement} */ ($("token"));
  input.value = "";
  input.placeholder = armed ? "Token in use" : "Admin token";
  toast(armed ? "Token kept in this tab only; Kick buttons are on." : "Token forgotten.", "");
}

async function kickConnection(id) {
  const entry = entries.get(id);
  if (token === null || entry === undefined) return;
  const who = entry.data?.name || `connection ${id}`;
  entry.kick.disabled = true;
  kicking.add(id);
  layoutRows();
  let message;
  let kind = "bad";
  try {
    const response = await fetch(`connz/${encodeURIComponent(id)}/kick`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
      cache: "no-store",
    });
    if (response.ok) {
      const body = await response.json().catch(() => ({}));
      message = `Kicked ${body.kicked ?? who}.`;
      kind = "ok";
    } else if (response.status === 401) {
      message = "The server refused the admin token (401). Wrong tokens count towards a lockout.";
    } else if (response.status === 404) {
      message = `${who} had already left.`;
      kind = "";
    } else if (response.status === 429) {
      message = "Too many wrong tokens from this address: locked out for a while (429).";
    } else {
      message = `Kick failed: HTTP ${response.status}.`;
    }
  } catch {
    message = "Kick failed: the server could not be reached.";
  }
  if (kind !== "ok") {
    kicking.delete(id);
    entry.kick.disabled = false;
    layoutRows();
  }
  toast(message, kind);
}

let toastTimer = 0;

function toast(text, kind) {
  const el = $("toast");
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 6000);
}

// ---------------------------------------------------------------------------------------------
// Charts (canvas, drawn here; colours from the CSS variables so both themes match)

let chartFrame = 0;

function scheduleCharts() {
  if (chartFrame === 0) {
    chartFrame = requestAnimationFrame(() => {
      chartFrame = 0;
      drawCharts();
    });
  }
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** The chart window now: from one minute up to five, as far back as the page has data. */
function chartWindow(now) {
  const first = history[0];
  const span = first === undefined ? 0 : now - first.t;
  return Math.min(WINDOW_MS, Math.max(MIN_WINDOW_MS, Math.ceil(span / 60_000) * 60_000));
}

function drawCharts() {
  const now = Date.now();
  const span = chartWindow(now);
  setText($("conn-window"), span <= 60_000 ? "last minute" : `last ${span / 60_000} minutes`);
  drawChart(
    /** @type {HTMLCanvasElement} */ ($("conn-chart")),
    now,
    [
      { field: "connections", colour: cssVar("--accent"), fill: true },
    ],
    false,
    span,
  );
  drawChart(
    /** @type {HTMLCanvasElement} */ ($("rate-chart")),
    now,
    [
      { field: "msg", colour: cssVar("--accent-a"), fill: false },
      { field: "del", colour: cssVar("--accent-b"), fill: false },
    ],
    true,
    span,
  );
}

/** A round upper bound for the y axis: 1, 2, 5 × 10^n. */
function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function drawChart(canvas, now, series, rates, span) {
  const ratio = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const left = 0;
  const top = 14;
  const bottom = height - 16;
  const start = now - span;
  const x = (t) => left + ((t - start) / span) * (width - left);

  let max = 0;
  for (const point of history) {
    if (point.t < start) continue;
    for (const s of series) max = Math.max(max, point[s.field] ?? 0);
  }
  const yMax = niceMax(max);
  const y = (v) => bottom - (v / yMax) * (bottom - top);

  // Grid: four lines, the top one labelled with the scale; minutes along the bottom.
  ctx.strokeStyle = cssVar("--grid");
  ctx.lineWidth = 1;
  ctx.fillStyle = cssVar("--muted");
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "bottom";
  for (let i = 0; i <= 4; i++) {
    const gy = Math.round(y((yMax * i) / 4)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, gy);
    ctx.lineTo(width, gy);
    ctx.stroke();
  }
  ctx.fillText(rates ? `${fmtRate(yMax)}/s` : fmtInt(yMax), left + 2, top - 1);
  ctx.textBaseline = "top";
  // Ticks every 15 s over one minute, every minute beyond.
  const step = span <= 60_000 ? 15_000 : 60_000;
  for (let back = span - step; back >= step; back -= step) {
    const label = back < 60_000 ? `-${back / 1000}s` : `-${back / 60_000}m`;
    ctx.fillText(label, x(now - back) + 2, bottom + 3);
  }
  ctx.textAlign = "right";
  ctx.fillText("now", width - 2, bottom + 3);
  ctx.textAlign = "left";

  for (const s of series) {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    // One path per run of points without a gap (a lost server breaks the line).
    let run = [];
    const flush = () => {
      if (run.length === 0) return;
      ctx.beginPath();
      run.forEach(([px, py], i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
      ctx.stroke();
      if (s.fill && run.length > 1) {
        const first = /** @type {number[]} */ (run[0]);
        const last = /** @type {number[]} */ (run[run.length - 1]);
        ctx.lineTo(last[0], bottom);
        ctx.lineTo(first[0], bottom);
        ctx.closePath();
        ctx.globalAlpha = 0.15;
        ctx.fillStyle = s.colour;
        ctx.fill();
        ctx.globalAlpha = 1;
      }
      if (run.length === 1) {
        const [px, py] = /** @type {number[]} */ (run[0]);
        ctx.fillStyle = s.colour;
        ctx.fillRect(px - 1.5, py - 1.5, 3, 3);
      }
      run = [];
    };
    for (const point of history) {
      if (point.gap) {
        flush();
        continue;
      }
      const value = point[s.field];
      if (point.t < start - SNAPSHOT_MS * 2 || typeof value !== "number") continue;
      run.push([x(point.t), y(value)]);
    }
    flush();
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function start() {
  for (const th of document.querySelectorAll("th[data-sort]")) {
    const header = /** @type {HTMLElement} */ (th);
    header.tabIndex = 0;
    header.addEventListener("click", () => setSort(header.dataset.sort ?? "name"));
    header.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        setSort(header.dataset.sort ?? "name");
      }
    });
  }
  showSort(); // Name A to Z until someone clicks a header.

  const filter = /** @type {HTMLInputElement} */ ($("filter"));
  filter.addEventListener("input", () => {
    filterText = filter.value;
    layoutRows();
  });

  $("auth").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = /** @type {HTMLInputElement} */ ($("token")).value.trim();
    if (value !== "" || token !== null) setToken(value);
  });
  $("token-clear").addEventListener("click", () => setToken(""));

  globalThis.addEventListener("resize", scheduleCharts);
  globalThis.matchMedia?.("(prefers-color-scheme: dark)").addEventListener?.(
    "change",
    scheduleCharts,
  );
  // The time axis moves even when nothing arrives (while lost, for instance).
  setInterval(scheduleCharts, 5000);
  scheduleCharts();
  layoutRows();
  connect();
}

start();
