/**
 * The machine a run happened on (cores, CPU, memory, OS, Deno and tool versions) and its load,
 * recorded with every result: figures only compare within one machine and one run.
 * @module
 */

import { loadAverage } from "./proc.ts";

/** Description of the machine. */
export interface Machine {
  /** Logical CPUs. */
  cores: number;
  /** CPU model name. */
  cpu: string;
  /** Total memory, GiB. */
  memoryGiB: number;
  /** OS name and version (`/etc/os-release`), e.g. "Debian GNU/Linux 12 (bookworm)". */
  os: string;
  /** Kernel release. */
  kernel: string;
  /** Deno, V8 and TypeScript versions. */
  deno: string;
  /** Load average (1, 5, 15 min) when the run started and ended. */
  loadStart: [number, number, number];
  loadEnd?: [number, number, number];
  /** Highest 1-minute load average seen at the start of any measurement. */
  loadMax?: number;
}

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Describes this machine now. */
export function describeMachine(): Machine {
  const cpuinfo = read("/proc/cpuinfo");
  const meminfo = read("/proc/meminfo");
  const osRelease = read("/etc/os-release");
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? NaN);
  const cores = cpuinfo.match(/^processor\s*:/gm)?.length ?? navigator.hardwareConcurrency;
  return {
    cores,
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? Deno.build.arch,
    memoryGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
    os: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? Deno.build.os,
    kernel: Deno.osRelease(),
    deno: `deno ${Deno.version.deno}, v8 ${Deno.version.v8}, typescript ${Deno.version.typescript}`,
    loadStart: loadAverage(),
  };
}

/** Waits until the 1-minute load average is below `threshold`, at most `maxS` seconds. */
export async function waitForQuiet(
  threshold: number,
  maxS: number,
  log: (line: string) => void,
): Promise<boolean> {
  const deadline = performance.now() + maxS * 1000;
  let told = false;
  for (;;) {
    const [load1] = loadAverage();
    if (load1 < threshold) return true;
    if (performance.now() > deadline) {
      log(`bench: load average still ${load1} after ${maxS} s; measuring anyway`);
      return false;
    }
    if (!told) log(`bench: load average ${load1} ≥ ${threshold}; waiting for a quiet machine`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}
