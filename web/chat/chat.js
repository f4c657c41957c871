// The Switchboard web chat: one WebSocket speaking sb/1 (one text frame per line), the lobby,
// groups and private conversations, history on load, and reconnection with session resume.
// Plain ES modules, no build step, nothing fetched from elsewhere.

import { SenderColours } from "./colours.js";
import { Files } from "./files.js";
import { el, messageItem, systemItem } from "./view.js";
import { DATA_VERBS, mentions, outgoingLine, parseLine } from "./wire.js";

const $ = (id) => document.getElementById(id);
const ui = {
  login: $("login"),
  loginForm: $("login-form"),
  name: $("name"),
  password: $("password"),
  loginError: $("login-error"),
  chat: $("chat"),
  side: $("side"),
  toggle: $("panel-toggle"),
  conversations: $("conversations"),
  people: $("people"),
  groupForm: $("group-form"),
  groupName: $("group-name"),
  groupCreate: $("group-create"),
  title: $("title"),
  logs: $("logs"),
  composer: $("composer"),
  message: $("message"),
  banner: $("banner"),
  me: $("me"),
  notify: $("notify"),
  attach: $("attach"),
  fileInput: $("file-input"),
  conversationPane: $("conversation"),
  sharedToggle: $("shared-toggle"),
  shared: $("shared"),
  sharedList: $("shared-list"),
};

/** Lines that end a session for good: the page does not reconnect after them. */
const FINAL_BYES = new Set(["quit", "replaced", "kicked", "denied"]);
const HISTORY_LINES = 50;
const MAX_BACKOFF_MS = 10_000;

const colours = new SenderColours();
const state = {
  name: "",
  password: "",
  token: undefined,
  lastId: 0,
  joined: false,
  online: false,
  socket: undefined,
  pending: [],
  attempt: 0,
  bye: undefined,
  timer: undefined,
  current: "*",
  conversations: new Map(),
  groups: new Set(),
  people: new Set(),
  shown: new Set(),
  ownPending: [],
  outbox: [],
  recall: [],
  recallAt: 0,
  /** A file's bytes are being sent: other lines wait in `held` (they would land in the payload). */
  holding: false,
  held: [],
  /** Reconnecting after `BYE idle`: no banner. */
  quiet: false,
};

// ---- Connection --------------------------------------------------------------------------

function connect() {
  clearTimeout(state.timer);
  state.bye = undefined;
  const url = new URL("ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  socket.addEventListener("message", (event) => {
    if (state.socket !== socket) return;
    if (typeof event.data === "string") onLine(event.data);
    else files.binary(event.data);
  });
  socket.addEventListener("close", () => onClosed(socket));
}

function send(line) {
  if (state.holding) state.held.push(line);
  else if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(line);
}

function hold(on) {
  state.holding = on;
  if (!on) { for (const line of state.held.splice(0)) send(line); }
}

/**
 * Sends a command and resolves with its answer: `{ ok, final, data }`. The server answers every
 * command with exactly one final `OK`/`ERR` line, in order, so answers match a queue.
 * `register`: the line is a name, answered by `WELCOME` or `ERR`. `echo`: typed by the user.
 */
function request(line, { register = false, echo = false } = {}) {
  return new Promise((resolve) => {
    if (state.socket?.readyState !== WebSocket.OPEN) {
      resolve({ ok: false, final: "ERR offline :not connected", data: [] });
      return;
    }
    state.pending.push({ line, register, echo, data: [], resolve });
    send(line);
  });
}

function finish(ok, final) {
  const head = state.pending.shift();
  if (head === undefined) return false;
  head.resolve({ ok, final, data: head.data, text: parseLine(final).text ?? final });
  return head;
}

function onLine(line) {
  const msg = parseLine(line);
  const [a, b, c] = msg.params;
  switch (msg.verb) {
    case "HELLO":
      void onHello();
      return;
    case "PING":
      send(":pong");
      return;
    case "SESSION":
      state.token = a;
      return;
    case "WELCOME":
      setName(a);
      if (state.pending[0]?.register) finish(true, line);
      return;
    case "MSG":
      deliver({ id: msg.id, from: a, key: b, text: msg.text ?? "" });
      return;
    case "PM":
      deliver({ id: msg.id, from: a, key: `@${a}`, text: msg.text ?? "" });
      return;
    case "JOIN":
      if (b !== undefined) notice(b, `${a} joined ${b}`);
      else {
        addPerson(a);
        notice("*", `${a} joined`);
      }
      return;
    case "LEAVE":
      removePerson(a);
      notice("*", `${a} left (${b ?? "quit"})`);
      return;
    case "PART":
      notice(b, `${a} left ${b} (${c ?? "left"})`);
      return;
    case "NICK":
      if (a === state.name) setName(b);
      if (state.people.delete(a)) addPerson(b);
      notice("*", `${a} is now ${b}`);
      return;
    case "OFFER":
      files.offer(msg);
      return;
    case "RECEIPT":
      files.receipt(msg);
      return;
    case "KICK":
      notice("*", `${a} was removed: ${msg.text ?? ""}`);
      return;
    case "OK":
    case "ERR": {
      const head = finish(msg.verb === "OK", line);
      afterCommand(msg);
      if (head === false || head.echo) {
        notice(state.current, msg.verb === "OK" ? line : msg.text ?? line, msg.verb === "ERR");
      }
      return;
    }
    case "BYE":
      state.bye = { reason: a, text: msg.text ?? "" };
      // A reader who only reads is cut for inactivity: the page resumes at once, unannounced.
      if (a !== "idle") notice(state.current, `Disconnected: ${msg.text ?? a}`, true);
      return;
    default:
      if (msg.verb === "FILE") files.header(msg);
      if (DATA_VERBS.has(msg.verb) && state.pending.length > 0) {
        const head = state.pending[0];
        head.data.push(line);
        if (head.echo) {
          notice(state.current, msg.text !== undefined && msg.verb === "HELP" ? msg.text : line);
        }
      }
  }
}

/** Keeps the side list in step with group commands, typed or clicked. */
function afterCommand(msg) {
  if (msg.verb !== "OK" || msg.params[0] !== "group") return;
  const [, sub, group] = msg.params;
  if (group === undefined) return;
  const bare = group.replace(/^#/, "");
  if (sub === "join" || sub === "create") {
    state.groups.add(bare);
    conversation(`#${bare}`);
    renderConversations();
  } else if (sub === "leave") {
    state.groups.delete(bare);
    dropConversation(`#${bare}`);
  }
}

async function onHello() {
  if (state.token !== undefined) {
    const resumed = await request(`:resume ${state.token} ${state.lastId}`);
    if (resumed.ok) return joined(true);
    state.token = undefined;
  }
  const registered = state.password !== ""
    ? await request(`:login ${state.name} ${state.password}`)
    : await request(state.name, { register: true });
  if (!registered.ok) {
    if (!state.joined) {
      ui.loginError.textContent = registered.text;
      ui.join.disabled = false;
      state.socket?.close();
      return;
    }
    state.bye = { reason: "refused", text: registered.text };
    showBanner(`Could not rejoin as ${state.name}: ${registered.text}`, "offline");
    state.socket?.close();
    return;
  }
  await request(":ids on");
  const reconnect = state.joined;
  for (const group of state.groups) {
    // After a restart the group is gone: whoever comes back first creates it again.
    const joinedGroup = await request(`:group join ${group}`);
    if (!joinedGroup.ok && /no-such-group/.test(joinedGroup.final)) {
      const created = await request(`:group create ${group}`);
      if (!created.ok && /group-exists/.test(created.final)) await request(`:group join ${group}`);
    }
  }
  await loadHistory("*", reconnect);
  for (const group of state.groups) await loadHistory(`#${group}`, reconnect);
  return joined(reconnect);
}

async function joined(reconnect) {
  state.online = true;
  state.attempt = 0;
  if (!state.joined) {
    state.joined = true;
    ui.login.hidden = true;
    ui.chat.hidden = false;
    ui.toggle.hidden = false;
    if ("Notification" in globalThis && Notification.permission === "default") {
      ui.notify.hidden = false;
    }
    openConversation("*");
  }
  if (state.quiet) state.quiet = false;
  else if (reconnect) showBanner("Back online", "online", 3000);
  else hideBanner();
  const list = await request(":list");
  if (list.ok) {
    state.people.clear();
    for (const line of list.data) {
      const who = parseLine(line).params[0];
      if (who !== undefined && who !== state.name) state.people.add(who);
    }
    renderPeople();
  }
  const waiting = state.outbox.splice(0);
  for (const item of waiting) sendMessage(item);
}

function onClosed(socket) {
  if (socket !== state.socket) return;
  state.online = false;
  state.holding = false;
  state.held.length = 0;
  for (const head of state.pending.splice(0)) {
    head.resolve({
      ok: false,
      final: "ERR offline :connection lost",
      data: head.data,
      text: "connection lost",
    });
  }
  if (!state.joined) {
    if (ui.loginError.textContent === "") {
      ui.loginError.textContent = state.bye?.text ?? "Could not reach the server";
    }
    ui.join.disabled = false;
    return;
  }
  if (state.bye !== undefined && FINAL_BYES.has(state.bye.reason)) {
    showBanner(`Disconnected: ${state.bye.text}. Reload the page to join again.`, "offline");
    return;
  }
  if (state.bye?.reason === "refused") return;
  if (state.bye?.reason === "idle" && state.token !== undefined) {
    state.quiet = true;
    connect();
    return;
  }
  const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** state.attempt) * (0.5 + Math.random() / 2);
  state.attempt++;
  showBanner(`Offline — reconnecting in ${Math.ceil(delay / 1000)} s…`, "offline");
  state.timer = setTimeout(connect, delay);
}

async function loadHistory(target, reconnect) {
  const answer = await request(`:history ${target} ${HISTORY_LINES}`);
  if (!answer.ok) return;
  const floor = reconnect ? state.lastId : 0;
  let shown = 0;
  for (const line of answer.data) {
    const { verb, params, text = "" } = parseLine(line);
    if (verb !== "HISTORY") continue;
    const [idText, time, from, to] = params;
    const id = Number(idText);
    if (state.shown.has(id) || id <= floor) continue;
    if (from === state.name && takeOwn(to, text)) {
      state.shown.add(id);
      continue;
    }
    deliver({ id, from, key: to, text, time: new Date(time), history: !reconnect });
    shown++;
  }
  if (!reconnect && shown > 0) conversation(target).log.append(el("li", "separator"));
}

// ---- Conversations -----------------------------------------------------------------------

function conversation(key) {
  let entry = state.conversations.get(key);
  if (entry === undefined) {
    const log = el("ol", "log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-label", titleOf(key));
    log.hidden = key !== state.current;
    ui.logs.append(log);
    entry = { key, log, unread: 0 };
    state.conversations.set(key, entry);
    renderConversations();
  }
  return entry;
}

function dropConversation(key) {
  const entry = state.conversations.get(key);
  if (entry === undefined) return;
  entry.log.remove();
  state.conversations.delete(key);
  if (state.current === key) openConversation("*");
  else renderConversations();
}

function titleOf(key) {
  return key === "*" ? "Lobby" : key;
}

function openConversation(key) {
  state.current = key;
  const entry = conversation(key);
  entry.unread = 0;
  for (const other of state.conversations.values()) other.log.hidden = other !== entry;
  ui.title.textContent = titleOf(key);
  renderConversations();
  scrollDown(true);
  updateTitle();
}

function renderConversations() {
  const items = [];
  for (const entry of state.conversations.values()) {
    const item = el("li");
    const open = el("button", "open", titleOf(entry.key));
    open.type = "button";
    open.setAttribute("aria-current", String(entry.key === state.current));
    const label = entry.unread > 0
      ? `${titleOf(entry.key)}, ${entry.unread} unread`
      : titleOf(entry.key);
    open.setAttribute("aria-label", label);
    if (entry.unread > 0) open.append(el("span", "unread", entry.unread));
    open.addEventListener("click", () => {
      openConversation(entry.key);
      closePanel();
      ui.message.focus();
    });
    item.append(open);
    if (entry.key.startsWith("#")) {
      const leave = el("button", "leave", "Leave");
      leave.type = "button";
      leave.setAttribute("aria-label", `Leave ${entry.key}`);
      leave.addEventListener("click", () => void leaveGroup(entry.key.slice(1)));
      item.append(leave);
    } else if (entry.key.startsWith("@")) {
      const close = el("button", "leave", "×");
      close.type = "button";
      close.setAttribute("aria-label", `Close conversation with ${entry.key.slice(1)}`);
      close.addEventListener("click", () => dropConversation(entry.key));
      item.append(close);
    }
    items.push(item);
  }
  ui.conversations.replaceChildren(...items);
}

function deliver({ id, from, key, text, time = new Date(), history = false }) {
  if (id !== undefined) {
    if (state.shown.has(id)) return;
    state.shown.add(id);
    if (id > state.lastId) state.lastId = id;
  }
  const mine = from === state.name;
  const mention = !mine && mentions(text, state.name);
  const entry = conversation(key);
  entry.log.append(
    messageItem({ time, from, text, colour: colours.of(from), mine, mention, history }),
  );
  if (history) return;
  if (key !== state.current && !mine) {
    entry.unread++;
    renderConversations();
  }
  if (key === state.current) scrollDown(false);
  if (!mine && document.hidden) notify(from, key, text);
  updateTitle();
}

function notice(key, text, error = false) {
  const entry = conversation(key ?? state.current);
  entry.log.append(systemItem(text, error ? "sys err" : "sys"));
  if (entry.key === state.current) scrollDown(false);
}

function scrollDown(force) {
  const logs = ui.logs;
  const near = logs.scrollHeight - logs.scrollTop - logs.clientHeight < 120;
  if (force || near) logs.scrollTop = logs.scrollHeight;
}

function setName(name) {
  state.name = name;
  ui.me.textContent = name === "" ? "" : `Signed in as ${name}`;
}

function addPerson(name) {
  if (name === state.name) return;
  state.people.add(name);
  renderPeople();
}

function removePerson(name) {
  state.people.delete(name);
  renderPeople();
}

function renderPeople() {
  const names = [...state.people].sort((x, y) => x.localeCompare(y));
  ui.people.replaceChildren(...names.map((name) => {
    const item = el("li");
    const button = el("button", "", name);
    button.type = "button";
    button.style.color = colours.of(name);
    button.setAttribute("aria-label", `Message ${name}`);
    button.addEventListener("click", () => {
      openConversation(`@${name}`);
      closePanel();
      ui.message.focus();
    });
    item.append(button);
    return item;
  }));
}

function updateTitle() {
  let unread = 0;
  for (const entry of state.conversations.values()) unread += entry.unread;
  document.title = unread > 0 ? `(${unread}) Switchboard` : "Switchboard";
}

// ---- Sending -----------------------------------------------------------------------------

/** Own messages shown without an id yet: a history after a reconnect must not repeat them. */
function rememberOwn(key, text) {
  state.ownPending.push({ key, text });
  if (state.ownPending.length > 500) state.ownPending.shift();
}

function takeOwn(key, text) {
  const at = state.ownPending.findIndex((own) => own.key === key && own.text === text);
  if (at < 0) return false;
  state.ownPending.splice(at, 1);
  return true;
}

function submit(input) {
  if (input.trim() === "") return;
  state.recall.push(input);
  if (state.recall.length > 100) state.recall.shift();
  state.recallAt = state.recall.length;
  const out = outgoingLine(input, state.current);
  if (out.command && /^:(put|send)(\s|$)/i.test(input)) {
    notice(state.current, "To send a file, drop it here or use the Send a file button", true);
    return;
  }
  if (out.command) {
    if (!state.online) {
      notice(state.current, "Offline: commands wait until the connection is back", true);
      return;
    }
    notice(state.current, `> ${input}`);
    void request(out.line, { echo: true });
    return;
  }
  const item = { key: state.current, line: out.line, text: out.text };
  deliver({ from: state.name, key: item.key, text: item.text });
  if (item.key !== "@" + state.name) rememberOwn(item.key, item.text);
  if (!state.online) {
    state.outbox.push(item);
    notice(item.key, "Offline: the message goes out when the connection is back");
    return;
  }
  sendMessage(item);
}

async function sendMessage(item) {
  if (item.key === "*") {
    send(item.line);
    return;
  }
  const answer = await request(item.line);
  if (!answer.ok && /offline/.test(answer.final)) state.outbox.push(item);
  else if (!answer.ok) notice(item.key, `Not delivered: ${answer.text}`, true);
}

async function joinGroup(name, create) {
  const group = name.trim().replace(/^#/, "");
  if (group === "") return;
  const answer = await request(`:group ${create ? "create" : "join"} ${group}`);
  if (!answer.ok) {
    notice(state.current, answer.text, true);
    return;
  }
  ui.groupName.value = "";
  openConversation(`#${group}`);
  closePanel();
  ui.message.focus();
}

async function leaveGroup(group) {
  const answer = await request(`:group leave ${group}`);
  if (!answer.ok) notice(state.current, answer.text, true);
}

// ---- Notifications, banner, panel -------------------------------------------------------

function notify(from, key, text) {
  if (!("Notification" in globalThis) || Notification.permission !== "granted") return;
  const where = key === "*" ? "" : key.startsWith("#") ? ` in ${key}` : " (private)";
  try {
    const note = new Notification(`${from}${where}`, { body: text, tag: key });
    note.onclick = () => {
      globalThis.focus();
      openConversation(key);
    };
  } catch {
    // Notifications are not available here (some mobile browsers need a service worker).
  }
}

let bannerTimer;
function showBanner(text, kind, hideAfterMs) {
  clearTimeout(bannerTimer);
  ui.banner.textContent = text;
  ui.banner.className = `banner ${kind}`;
  ui.banner.hidden = false;
  if (hideAfterMs !== undefined) bannerTimer = setTimeout(hideBanner, hideAfterMs);
}

function hideBanner() {
  ui.banner.hidden = true;
  ui.banner.textContent = "";
}

function closePanel() {
  ui.side.classList.remove("open");
  ui.toggle.setAttribute("aria-expanded", "false");
}

// ---- Files -------------------------------------------------------------------------------

const files = new Files({
  socket: () => state.socket,
  request,
  hold,
  current: () => state.current,
  notice,
  item(key, node, counts = false) {
    const entry = conversation(key);
    entry.log.append(node);
    if (key === state.current) scrollDown(false);
    else if (counts) {
      entry.unread++;
      renderConversations();
    }
  },
});

function sendFiles(list) {
  if (!state.online) {
    notice(state.current, "Offline: files can be sent once the connection is back", true);
    return;
  }
  for (const file of list) void files.send(file, state.current);
}

ui.attach.addEventListener("click", () => ui.fileInput.click());
ui.fileInput.addEventListener("change", () => {
  sendFiles([...ui.fileInput.files]);
  ui.fileInput.value = "";
});
ui.conversationPane.addEventListener("dragover", (event) => {
  if (!event.dataTransfer?.types.includes("Files")) return;
  event.preventDefault();
  ui.conversationPane.classList.add("dropping");
});
ui.conversationPane.addEventListener("dragleave", () => {
  ui.conversationPane.classList.remove("dropping");
});
ui.conversationPane.addEventListener("drop", (event) => {
  event.preventDefault();
  ui.conversationPane.classList.remove("dropping");
  sendFiles([...(event.dataTransfer?.files ?? [])]);
});
ui.sharedToggle.addEventListener("click", () => {
  const open = ui.shared.hidden;
  ui.shared.hidden = !open;
  ui.sharedToggle.setAttribute("aria-expanded", String(open));
  if (open) void files.list(ui.sharedList);
});

// ---- Wiring ------------------------------------------------------------------------------

ui.join = $("join");
ui.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  ui.loginError.textContent = "";
  ui.join.disabled = true;
  setName(ui.name.value.trim());
  state.password = ui.password.value;
  ui.password.value = "";
  connect();
});

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const input = ui.message.value;
  ui.message.value = "";
  submit(input);
});

ui.message.addEventListener("keydown", (event) => {
  const field = ui.message;
  // Up recalls from an empty box, from the start of the text, or over a line it recalled.
  const recalled = field.value === state.recall[state.recallAt];
  if (
    event.key === "ArrowUp" && state.recallAt > 0 &&
    (field.value === "" || field.selectionStart === 0 || recalled)
  ) {
    event.preventDefault();
    field.value = state.recall[--state.recallAt] ?? "";
  } else if (event.key === "ArrowDown" && recalled && state.recallAt < state.recall.length) {
    event.preventDefault();
    field.value = state.recall[++state.recallAt] ?? "";
  }
});

ui.groupForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void joinGroup(ui.groupName.value, false);
});
ui.groupCreate.addEventListener("click", () => void joinGroup(ui.groupName.value, true));

ui.toggle.addEventListener("click", () => {
  const open = ui.side.classList.toggle("open");
  ui.toggle.setAttribute("aria-expanded", String(open));
  if (open) ui.side.querySelector("button")?.focus();
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  if (!ui.shared.hidden) {
    ui.shared.hidden = true;
    ui.sharedToggle.setAttribute("aria-expanded", "false");
    ui.sharedToggle.focus();
  } else if (ui.side.classList.contains("open")) {
    closePanel();
    ui.toggle.focus();
  } else if (state.joined) {
    ui.message.focus();
  }
});

ui.notify.addEventListener("click", async () => {
  const answer = await Notification.requestPermission();
  ui.notify.hidden = answer !== "default";
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) updateTitle();
});

// Back on the network: try at once rather than at the end of the backoff.
globalThis.addEventListener("online", () => {
  if (state.joined && !state.online && state.timer !== undefined) connect();
});
