/**
 * The monitoring listener's requests, path by path. Every request first passes the access lists
 * (403) and the cap on requests in flight (503); state-changing ones then need admin credentials
 * (`auth.ts`). Answers are JSON unless said otherwise, and never carry a token, a password hash
 * or a message's text.
 * @module
 */

import { authorize, type HttpPeer } from "./auth.ts";
import { ASSETS, readAsset } from "./_assets.ts";
import { buildConnz, type ClosedConnections, parseConnzQuery } from "./connz.ts";
import type { Metrics } from "./metrics.ts";
import type { SnapshotStreams } from "./sse.ts";
import type { MonitorSource } from "./source.ts";
import { buildVarz } from "./varz.ts";

/** What the routes serve from. */
export interface RouteParts {
  source: MonitorSource;
  metrics: Metrics;
  streams: SnapshotStreams;
  closed: ClosedConnections;
  /** When the server started (`Date.now()`). */
  startedAt: number;
}

const KICK = /^\/connz\/([0-9]{1,15})\/kick$/;

/** A JSON response. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-cache",
      ...headers,
    },
  });
}

function methodNotAllowed(allow: string): Response {
  return json(405, { error: `method not allowed; use ${allow}` }, { allow });
}

/** Answers one request from an allowed peer. */
export async function route(
  parts: RouteParts,
  request: Request,
  peer: HttpPeer,
): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname;
  const method = request.method;
  const kick = KICK.exec(path);
  if (kick !== null) {
    if (method !== "POST") return methodNotAllowed("POST");
    return await kickRoute(parts, request, peer, Number(kick[1]));
  }
  const read = method === "GET" || method === "HEAD";
  const asset = ASSETS.get(path);
  if (asset !== undefined) {
    if (!read) return methodNotAllowed("GET, HEAD");
    return new Response(await readAsset(asset.file), {
      headers: { "content-type": asset.type, "cache-control": "no-cache" },
    });
  }
  switch (path) {
    case "/healthz":
      if (!read) return methodNotAllowed("GET, HEAD");
      return parts.source.draining
        ? json(503, { status: "draining" })
        : json(200, { status: "ok" });
    case "/varz":
      if (!read) return methodNotAllowed("GET, HEAD");
      return json(200, buildVarz(parts.source, parts.startedAt));
    case "/connz": {
      if (!read) return methodNotAllowed("GET, HEAD");
      const query = parseConnzQuery(url.searchParams);
      if (typeof query === "string") return json(400, { error: query });
      return json(
        200,
        buildConnz(parts.source.connections(), parts.closed.rows(), query, performance.now()),
      );
    }
    case "/metrics":
      if (!read) return methodNotAllowed("GET, HEAD");
      return new Response(await parts.metrics.render(), {
        headers: { "content-type": parts.metrics.contentType, "cache-control": "no-cache" },
      });
    case "/events": {
      if (method !== "GET") return methodNotAllowed("GET");
      const stream = parts.streams.open();
      if (stream === undefined) {
        return json(503, { error: "too many event streams" }, { "retry-after": "5" });
      }
      return new Response(stream, {
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          "x-accel-buffering": "no",
        },
      });
    }
  }
  return json(404, { error: "not found" });
}

async function kickRoute(
  parts: RouteParts,
  request: Request,
  peer: HttpPeer,
  id: number,
): Promise<Response> {
  const { source } = parts;
  const auth = await authorize(source, request.headers.get("authorization"), peer);
  if (!auth.ok) {
    const headers: Record<string, string> = {};
    if (auth.retryAfterS !== undefined) headers["retry-after"] = String(auth.retryAfterS);
    if (auth.status === 401) headers["www-authenticate"] = 'Bearer realm="switchboard"';
    return json(auth.status, { error: auth.error }, headers);
  }
  const by = auth.who === "admin token" ? "an admin" : auth.who;
  const name = source.kick(id, `kicked by ${by}`);
  if (name === undefined) return json(404, { error: `no open connection ${id}` });
  source.log.admin.info("{who} kicked connection {id} ({target}) over HTTP from {peer}", {
    who: auth.who,
    id,
    target: name,
    peer: peer.address,
  });
  return json(200, { kicked: name });
}
