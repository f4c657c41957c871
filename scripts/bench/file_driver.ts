/**
 * The file-transfer generator of the benchmark: uploads a file of `--bytes` to a Switchboard
 * server's shared area with `:put` and downloads it again with `:get`, through the client library
 * (the same code as the `client` program), checks the SHA-256 both ways, and prints one JSON line
 * like the C load generator does: MB/s each way and over the round trip, and the peak resident
 * memory of the server (`--pid`) and of this process.
 *
 * `deno run -A scripts/bench/file_driver.ts --port P --pid PID --bytes N`
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { SwitchboardClient } from "../../core/client/client.ts";
import { FileTransfers } from "../../core/client/files.ts";

const PIECE = 1024 * 1024;

/** VmHWM of a process in kB (peak resident memory), or NaN when unreadable. */
function peakKb(pid: number | "self"): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** Writes `bytes` of varied content (not all zeros, so nothing compresses or dedupes it). */
async function writeData(path: string, bytes: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const piece = new Uint8Array(PIECE);
  let state = 0x9e3779b9;
  for (let i = 0; i < piece.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    piece[i] = state & 0xff;
  }
  for (let written = 0, round = 0; written < bytes; round++) {
    piece[0] = round & 0xff;
    piece[1] = (round >> 8) & 0xff;
    const chunk = piece.subarray(0, Math.min(PIECE, bytes - written));
    for (let done = 0; done < chunk.length;) done += await file.write(chunk.subarray(done));
    written += chunk.length;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string" },
      pid: { type: "string" },
      bytes: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  const port = Number(values.port);
  const pid = Number(values.pid);
  const bytes = Number(values.bytes);
  const dir = await Deno.makeTempDir({ prefix: "switchboard-bench-files-" });
  const started = performance.now();
  const report: Record<string, unknown> = { cmd: "files", bytes };
  try {
    const source = join(dir, "data.bin");
    await writeData(source, bytes);
    const serverBefore = peakKb(pid);
    await using client = await SwitchboardClient.connect({ hostname: values.host, port });
    const registered = await client.register(`bench${Deno.pid}`);
    if (!registered.ok) throw new Error(`not registered: ${JSON.stringify(registered)}`);
    const files = new FileTransfers(client, { downloads: join(dir, "downloads") });
    const name = `bench-${Deno.pid}.bin`;
    const put = await files.put(source, name);
    const get = put.ok ? await files.get(name) : undefined;
    const sameHash = get !== undefined && get.ok && get.sha256 === put.sha256;
    const mb = bytes / 1e6;
    Object.assign(report, {
      put_ok: put.ok,
      get_ok: get?.ok ?? false,
      error: put.error?.text ?? get?.error?.text ?? null,
      put_mb_per_s: put.ok ? mb / (put.ms / 1000) : 0,
      get_mb_per_s: get?.ok ? mb / (get.ms / 1000) : 0,
      mb_per_s: sameHash ? (2 * mb) / ((put.ms + (get?.ms ?? 0)) / 1000) : 0,
      elapsed_s: (put.ms + (get?.ms ?? 0)) / 1000,
      lost: sameHash ? 0 : 1,
      complete: sameHash,
      server_hwm_kb_before: serverBefore,
      server_hwm_kb: peakKb(pid),
      client_hwm_kb: peakKb("self"),
    });
    await client.quit();
  } catch (error) {
    Object.assign(report, { complete: false, lost: 1, error: String(error) });
  } finally {
    report.wall_s = (performance.now() - started) / 1000;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  console.log(JSON.stringify(report));
}

await main();
