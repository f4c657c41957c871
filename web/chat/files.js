// Files: send one to the open conversation (`:send`, or `:put` into the shared area from the
// lobby) with a progress bar, offers with Accept / Decline, the shared area with downloads. Sized
// payloads travel in binary WebSocket frames (docs/web.md); every download's SHA-256 is checked.

import { sha256Hex } from "./sha256.js";
import { el } from "./view.js";
import { parseLine } from "./wire.js";

const CHUNK = 64 * 1024;
/** The page stops handing chunks to the socket while it holds this much unsent. */
const MAX_BUFFERED = 1024 * 1024;

/** `1.2 MB` for a byte count. */
export function size(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A file name the server takes: no whitespace or separators (the server checks the rest). */
export function wireName(name) {
  const cleaned = name.normalize("NFC").replace(/[\s/\\:*?"<>|]+/g, "_").replace(/^\.+/, "");
  return cleaned === "" ? "file" : cleaned.slice(0, 100);
}

/**
 * The file side of the page. `app` gives what it needs of the chat: `socket()`, `request(line)`,
 * `hold(on)` (keeps other lines back while payload bytes are being sent), `item(key, node)` to add
 * a line to a conversation, `notice(key, text, error)`, and `current()`.
 */
export class Files {
  #app;
  #uploads = Promise.resolve();
  /** The download in progress: its `FILE` line came, its bytes are coming. */
  #download;
  /** Offer id → conversation, for the receipts of what this page sent. */
  #sent = new Map();

  constructor(app) {
    this.#app = app;
  }

  /** Sends `file` to conversation `key` after the uploads before it. */
  send(file, key) {
    this.#uploads = this.#uploads.then(() => this.#send(file, key)).catch((error) => {
      this.#app.notice(key, `Not sent: ${error.message ?? error}`, true);
    });
    return this.#uploads;
  }

  async #send(file, key) {
    const app = this.#app;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const name = wireName(file.name);
    const sha = sha256Hex(bytes);
    const target = key === "*" ? undefined : key.startsWith("#") ? key : key.slice(1);
    const line = target === undefined
      ? `:put ${name} ${bytes.length} ${sha}`
      : `:send ${target} ${name} ${bytes.length} ${sha}`;
    const bar = el("progress");
    bar.max = Math.max(1, bytes.length);
    bar.value = 0;
    bar.setAttribute("aria-label", `Sending ${name}`);
    const node = el("li", "sys file");
    node.append(el("span", "", `Sending ${name} (${size(bytes.length)}) `), bar);
    app.item(key, node);
    const socket = app.socket();
    if (socket?.readyState !== WebSocket.OPEN) throw new Error("offline");
    // The command goes out first, then nothing but its bytes until they are all sent.
    const answer = app.request(line);
    app.hold(true);
    try {
      for (let at = 0; at < bytes.length; at += CHUNK) {
        while (socket.bufferedAmount > MAX_BUFFERED && socket.readyState === WebSocket.OPEN) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        if (socket.readyState !== WebSocket.OPEN) break;
        socket.send(bytes.subarray(at, at + CHUNK));
        bar.value = Math.min(bytes.length, at + CHUNK);
      }
    } finally {
      app.hold(false);
    }
    const result = await answer;
    const done = parseLine(result.final);
    if (!result.ok) {
      node.replaceChildren(el("span", "", `${name} not sent: ${result.text}`));
      node.classList.add("err");
    } else if (done.params[0] === "put") {
      node.replaceChildren(el("span", "", `${name} is in the shared files`));
    } else {
      const [, id, recipients] = done.params;
      this.#sent.set(id, key);
      node.replaceChildren(el("span", "", `${name} offered to ${recipients} (offer ${id})`));
    }
  }

  /** `OFFER <id> <from> <to> <name> <size> <sha256>`: Accept / Decline in its conversation. */
  offer(msg) {
    const [id, from, to, name, bytes] = msg.params;
    const key = to?.startsWith("#") ? to : `@${from}`;
    const node = el("li", "sys offer");
    const accept = el("button", "", "Accept");
    accept.type = "button";
    accept.setAttribute("aria-label", `Accept ${name} from ${from}`);
    const decline = el("button", "", "Decline");
    decline.type = "button";
    decline.setAttribute("aria-label", `Decline ${name} from ${from}`);
    node.append(
      el("span", "", `${from} offers ${name} (${size(Number(bytes))}) `),
      accept,
      decline,
    );
    accept.addEventListener("click", async () => {
      accept.disabled = decline.disabled = true;
      await this.fetch(`:accept ${id}`, node);
    });
    decline.addEventListener("click", async () => {
      accept.disabled = decline.disabled = true;
      const answer = await this.#app.request(`:decline ${id}`);
      node.append(el("span", "", answer.ok ? " — declined" : ` — ${answer.text}`));
    });
    this.#app.item(key, node, true);
  }

  /** `RECEIPT <id> <user> <outcome>` for a file this page sent. */
  receipt(msg) {
    const [id, user, outcome] = msg.params;
    this.#app.notice(this.#sent.get(id) ?? "*", `Offer ${id}: ${user} ${outcome}`);
  }

  /** Runs `:accept <id>` or `:get <name>`; the file ends up as a link in `node`. */
  async fetch(command, node) {
    const bar = el("progress");
    bar.value = 0;
    bar.setAttribute("aria-label", "Receiving");
    node.append(" ", bar);
    this.#download = { node, bar, parts: [], got: 0, header: undefined };
    const answer = await this.#app.request(command);
    const download = this.#download;
    this.#download = undefined;
    bar.remove();
    if (!answer.ok) {
      node.append(el("span", "err", ` — ${answer.text}`));
      return;
    }
    if (download?.header === undefined || download.got !== download.header.size) {
      node.append(el("span", "err", " — the download broke off"));
      return;
    }
    const { name, size: total, sha } = download.header;
    const blob = new Blob(download.parts);
    const bytes = new Uint8Array(await blob.arrayBuffer());
    if (bytes.length !== total || sha256Hex(bytes) !== sha) {
      node.append(el("span", "err", " — the SHA-256 does not match; discarded"));
      return;
    }
    const link = el("a", "download", `Save ${name}`);
    link.href = URL.createObjectURL(blob);
    link.download = name;
    link.dataset.sha256 = sha;
    node.append(" ", link, el("span", "", " (SHA-256 checked)"));
  }

  /** `FILE <name> <size> <sha256>`: the bytes that follow are the download's. */
  header(msg) {
    const [name, total, sha] = msg.params;
    if (this.#download === undefined) return;
    this.#download.header = { name, size: Number(total), sha };
    this.#download.bar.max = Math.max(1, Number(total));
  }

  /** A binary frame: payload bytes of the download in progress. */
  binary(data) {
    const download = this.#download;
    if (download === undefined) return;
    download.parts.push(data);
    download.got += data.byteLength;
    download.bar.value = download.got;
  }

  /** The shared area: `:files`, each with a Download button, in `list`. */
  async list(list) {
    const answer = await this.#app.request(":files");
    if (!answer.ok) {
      list.replaceChildren(el("li", "sys", answer.text));
      return;
    }
    const items = answer.data.map((line) => {
      const [name, bytes, , uploader] = parseLine(line).params;
      const item = el("li", "shared");
      const button = el("button", "", "Download");
      button.type = "button";
      button.setAttribute("aria-label", `Download ${name}`);
      const label = el("span", "", `${name} (${size(Number(bytes))}, from ${uploader}) `);
      item.append(label, button);
      button.addEventListener("click", async () => {
        button.disabled = true;
        await this.fetch(`:get ${name}`, item);
      });
      return item;
    });
    list.replaceChildren(...(items.length > 0 ? items : [el("li", "sys", "No files yet")]));
  }
}
