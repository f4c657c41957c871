/**
 * What Linux says about a process and the machine: CPU seconds and resident memory from
 * `/proc/<pid>/`, and the load average. Every reader returns undefined when the process is gone
 * (or the file does not exist), never throws.
 * @module
 */

/** Clock ticks per second of `/proc/<pid>/stat` times; 100 on every Linux that Deno runs on. */
const CLOCK_TICKS = 100;

/**
 * User + system CPU seconds of a process so far; with `children`, also those of the children it
 * has waited for (`ncat --exec` does its work in forked children).
 */
export function cpuSeconds(pid: number, children = false): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses: fields start after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const cutime = children ? Number(fields[13]) : 0;
  const cstime = children ? Number(fields[14]) : 0;
  const total = utime + stime + cutime + cstime;
  return Number.isFinite(total) ? total / CLOCK_TICKS : undefined;
}

/** Resident memory of a process in kB: current (VmRSS) and peak (VmHWM). */
export interface Memory {
  /** VmRSS, kB. */
  rssKb: number;
  /** VmHWM, kB. */
  hwmKb: number;
}

/** Reads VmRSS and VmHWM from `/proc/<pid>/status`. */
export function memory(pid: number): Memory | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1]);
  const rssKb = field("VmRSS");
  const hwmKb = field("VmHWM");
  return Number.isFinite(rssKb) && Number.isFinite(hwmKb) ? { rssKb, hwmKb } : undefined;
}

/**
 * CPU seconds all processes together have spent in user and system mode (all CPUs). Interrupt
 * and softirq time is left out: loopback traffic is processed there, and the kernel books it to
 * no process, so counting it would charge our own network load to "others".
 */
export function machineBusySeconds(): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/stat");
  } catch {
    return undefined;
  }
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const fields = (text.split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0] = fields;
  return (user + nice + system) / CLOCK_TICKS;
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): [number, number, number] {
  try {
    const [a, b, c] = Deno.readTextFileSync("/proc/loadavg").split(" ").map(Number);
    return [a ?? NaN, b ?? NaN, c ?? NaN];
  } catch {
    return [NaN, NaN, NaN];
  }
}

/**
 * Samples a process's total CPU seconds until stopped, so the figure survives the process's exit
 * (the last sample is at most one interval old). For a child just spawned this is all it used.
 */
export class CpuSampler {
  readonly #pid: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #last: number | undefined;

  /** Starts sampling `pid` every `intervalMs`. */
  constructor(pid: number, intervalMs = 100) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample(): void {
    const value = cpuSeconds(this.#pid);
    if (value !== undefined) this.#last = value;
  }

  /** Stops sampling; returns the last total seen, or undefined if the process was never seen. */
  stop(): number | undefined {
    this.#sample();
    clearInterval(this.#timer);
    return this.#last;
  }
}
