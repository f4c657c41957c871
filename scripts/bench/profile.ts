/**
 * Reads a V8 CPU profile (`deno run --cpu-prof` writes `*.cpuprofile`) and boils it down to the
 * hot spots: self time per function, inclusive time per function, and self time per source file,
 * each as a share of the busy (non-idle) time.
 * @module
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One line of a hot-spot list. */
export interface HotSpot {
  /** `function (file:line)` or a V8 pseudo-node such as `(garbage collector)`. */
  name: string;
  /** Milliseconds. */
  ms: number;
  /** Share of busy time, %. */
  pct: number;
}

/** The hot spots of one profile. */
export interface ProfileSummary {
  /** Scenario and system the profile was taken under. */
  scenario: string;
  system: string;
  /** Profile file. */
  file: string;
  /** Sampled milliseconds in total, and of them idle. */
  totalMs: number;
  idleMs: number;
  /** Functions by self time. */
  self: HotSpot[];
  /** Functions by inclusive time (self plus callees). */
  inclusive: HotSpot[];
  /** Source files by self time (V8 pseudo-nodes kept as their own entries). */
  files: HotSpot[];
}

const REPO = new URL("../../", import.meta.url).href;

/** A short source name: repo-relative, `npm:pkg/file`, or `ext:…` for Deno's own code. */
export function shortUrl(url: string): string {
  if (url === "") return "";
  if (url.startsWith(REPO)) return url.slice(REPO.length);
  const npm = /node_modules\/(?:\.deno\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\/(.*)$/
    .exec(url);
  if (npm) return `npm:${npm[1]}/${npm[2]?.split("/").at(-1)}`;
  const registry = /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\/[^/]+\/(.*)$/.exec(url);
  if (registry) return `npm:${registry[1]}/${registry[2]?.split("/").at(-1)}`;
  return url.replace(/^file:\/\/.*\//, "");
}

function frameName(frame: CallFrame): string {
  const fn = frame.functionName || "(anonymous)";
  if (frame.url === "") return fn;
  return `${fn} (${shortUrl(frame.url)}:${frame.lineNumber + 1})`;
}

function fileName(frame: CallFrame): string {
  return frame.url === "" ? frame.functionName : shortUrl(frame.url);
}

function top(map: Map<string, number>, busyMs: number, count: number): HotSpot[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({
      name,
      ms: Math.round(us / 100) / 10,
      pct: busyMs > 0 ? Math.round((us / 1000 / busyMs) * 1000) / 10 : 0,
    }));
}

/**
 * Summarises one `.cpuprofile` file.
 *
 * @example
 * ```ts ignore
 * const summary = await summarizeProfile("/tmp/CPU.123.cpuprofile", "fanout-100", "switchboard");
 * console.log(summary.self.slice(0, 5));
 * ```
 */
export async function summarizeProfile(
  file: string,
  scenario: string,
  system: string,
  count = 25,
): Promise<ProfileSummary> {
  const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const files = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number);
    const delta = profile.timeDeltas[i] ?? 0;
    if (node === undefined || delta <= 0) continue;
    totalUs += delta;
    if (node.callFrame.functionName === "(idle)") {
      idleUs += delta;
      continue;
    }
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + delta);
    const file = fileName(node.callFrame);
    files.set(file, (files.get(file) ?? 0) + delta);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (frame === undefined || frame.functionName === "(root)") continue;
      const key = frameName(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + delta);
    }
  }
  const busyMs = (totalUs - idleUs) / 1000;
  return {
    scenario,
    system,
    file,
    totalMs: Math.round(totalUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    self: top(self, busyMs, count),
    inclusive: top(inclusive, busyMs, count),
    files: top(files, busyMs, count),
  };
}

/** Finds the `.cpuprofile` files in a folder. */
export async function profileFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".cpuprofile")) found.push(`${dir}/${entry.name}`);
    }
  } catch {
    // No profile written.
  }
  return found.sort();
}

/** The summary as plain text lines, for the console. */
export function formatProfile(summary: ProfileSummary, lines = 15): string {
  const busy = summary.totalMs - summary.idleMs;
  const out = [
    `profile ${summary.scenario} / ${summary.system}: ${busy} ms busy of ${summary.totalMs} ms sampled`,
    "  self time:",
    ...summary.self.slice(0, lines).map((h) => `    ${h.pct.toFixed(1).padStart(5)}%  ${h.name}`),
    "  by file (self):",
    ...summary.files.slice(0, 10).map((h) => `    ${h.pct.toFixed(1).padStart(5)}%  ${h.name}`),
    "  inclusive:",
    ...summary.inclusive.slice(0, lines).map((h) =>
      `    ${h.pct.toFixed(1).padStart(5)}%  ${h.name}`
    ),
  ];
  return out.join("\n");
}
