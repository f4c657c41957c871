/**
 * `/metrics`: Prometheus text format 0.0.4 through `prom-client`, one registry per monitor. Every
 * value is read when Prometheus scrapes (the metrics' `collect` callbacks read one snapshot taken
 * for the scrape); nothing is counted on the chat's hot path. No label names a user or a
 * connection: the only label is `reason`, from the fixed list of disconnect reasons.
 * @module
 */

import { Counter, Gauge, Registry } from "prom-client";
import { DISCONNECT_REASONS } from "../protocol/errors.ts";
import type { ServerStats } from "../server/stats.ts";
import type { MonitorSource } from "./source.ts";

/** What one scrape reads. */
interface Reading {
  stats: ServerStats;
  queuedBytes: number;
  rss: number;
}

/** The metrics of one server. */
export class Metrics {
  readonly #registry = new Registry();
  readonly #source: MonitorSource;
  #reading: Reading | undefined;

  /** Metrics read from `source`. */
  constructor(source: MonitorSource) {
    this.#source = source;
    const registers = [this.#registry];
    const read = (): Reading => this.#reading ?? this.#read();
    const gauge = (name: string, help: string, value: (r: Reading) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value(read()));
        },
      });
    const counter = (name: string, help: string, value: (r: Reading) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(value(read()));
        },
      });
    gauge("switchboard_connections", "Connections open now.", (r) => r.stats.connections);
    gauge("switchboard_named_clients", "Clients with a name (online) now.", (r) => r.stats.online);
    counter(
      "switchboard_messages_received_total",
      "Messages recorded (lobby, group, private, console, echo) since start.",
      (r) => r.stats.messages,
    );
    counter(
      "switchboard_deliveries_total",
      "Messages queued to recipients since start, counted per recipient.",
      (r) => r.stats.deliveries,
    );
    counter(
      "switchboard_bytes_received_total",
      "Bytes read from clients since start.",
      (r) => r.stats.bytesIn,
    );
    counter(
      "switchboard_bytes_sent_total",
      "Bytes written to clients since start.",
      (r) => r.stats.bytesOut,
    );
    new Counter({
      name: "switchboard_disconnects_total",
      help: "Connections closed or refused since start, by reason.",
      labelNames: ["reason"],
      registers,
      collect() {
        this.reset();
        const disconnects = read().stats.disconnects;
        for (const reason of DISCONNECT_REASONS) this.inc({ reason }, disconnects[reason]);
      },
    });
    gauge(
      "switchboard_queued_bytes",
      "Bytes waiting in the outbound queues of all connections now.",
      (r) => r.queuedBytes,
    );
    gauge(
      "switchboard_resident_memory_bytes",
      "Resident set size of the server process.",
      (r) => r.rss,
    );
    const cluster = source.cluster;
    if (cluster === undefined) return;
    gauge(
      "switchboard_cluster_up",
      "1 while this cluster node reaches the bus (NATS), else 0.",
      () => cluster.state().up ? 1 : 0,
    );
    gauge(
      "switchboard_cluster_nodes",
      "Cluster nodes heard from lately, this one included.",
      () => cluster.state().nodes,
    );
    counter(
      "switchboard_cluster_dropped_batches_total",
      "Batches for other nodes dropped while the bus was away and the outbox full.",
      () => cluster.state().dropped,
    );
  }

  /** The `Content-Type` of {@linkcode Metrics.render}'s text. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The metrics now, in the text format. */
  async render(): Promise<string> {
    this.#reading = this.#read();
    try {
      return await this.#registry.metrics();
    } finally {
      this.#reading = undefined;
    }
  }

  #read(): Reading {
    let queuedBytes = 0;
    for (const c of this.#source.connections()) queuedBytes += c.outbound.queuedBytes;
    return { stats: this.#source.snapshot(), queuedBytes, rss: Deno.memoryUsage().rss };
  }
}
