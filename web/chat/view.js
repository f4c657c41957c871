// DOM helpers. Every text from the network goes in with textContent, never as HTML.

import { neutralize } from "./wire.js";

/** An element with a class and text (neutralised). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = neutralize(String(text));
  return node;
}

/** `HH:MM` of a Date, in the visitor's time zone. */
export function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** One message line: time, sender in its colour, text. */
export function messageItem({ time, from, text, colour, mine, mention, history }) {
  const item = el("li", "msg");
  if (mention) item.classList.add("mention");
  if (history) item.classList.add("history");
  if (mine) item.classList.add("mine");
  const stamp = el("time", "", clock(time));
  stamp.dateTime = time.toISOString();
  stamp.title = time.toLocaleString();
  const who = el("bdi", "from", from);
  who.style.color = colour;
  const body = el("bdi", "text", text);
  item.append(stamp, who, body);
  return item;
}

/** One line of the client's own (a command's answer, a join, an error). */
export function systemItem(text, kind = "sys", time = new Date()) {
  const item = el("li", kind);
  const stamp = el("time", "", clock(time));
  stamp.dateTime = time.toISOString();
  item.append(stamp, el("span", "", text));
  return item;
}
