/**
 * Where a cold start's CPU goes: sums the self time of a V8 .cpuprofile by source module and by
 * package, mapping bundled chunks back through their source maps (build with `sourcemap: true`).
 *
 *   npx tsx bench/cpu-profile-summary.ts PROFILE.cpuprofile [--top 40]
 *
 * Prints a table by package, then by module, then one JSON line with the totals by package.
 */
import { readFileSync, existsSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "40" }, help: { type: "boolean", short: "h" } } });
if (values.help || positionals.length !== 1) {
  console.log("usage: npx tsx bench/cpu-profile-summary.ts PROFILE.cpuprofile [--top 40]\nSums self time by source module and package (through source maps next to the bundle's chunks).");
  process.exit(values.help ? 0 : 2);
}

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const profile = JSON.parse(readFileSync(positionals[0]!, "utf8")) as Profile;
const maps = new Map<string, SourceMap | null>();
function mapFor(url: string): SourceMap | null {
  if (!maps.has(url)) {
    let map: SourceMap | null = null;
    if (url.startsWith("file:")) {
      const file = fileURLToPath(url) + ".map";
      if (existsSync(file)) map = new SourceMap(JSON.parse(readFileSync(file, "utf8")));
    }
    maps.set(url, map);
  }
  return maps.get(url)!;
}

/** A source path's package (`better-auth`, `@better-auth/core`), or `ours`, or a V8 category. */
function packageOf(source: string): string {
  const i = source.lastIndexOf("node_modules/");
  if (i < 0) return source.startsWith("node:") || !source.includes("/") ? source : "ours";
  const rest = source.slice(i + "node_modules/".length).split("/");
  return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
}

function sourceOf(frame: CallFrame): string {
  if (!frame.url) return `(${frame.functionName || "program"})`;
  if (frame.url.startsWith("node:")) return frame.url;
  const map = mapFor(frame.url);
  if (map) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string };
    if (entry.originalSource) return entry.originalSource.replace(/^.*?(node_modules\/|functions\/)/, (m, g: string) => g);
  }
  return frame.url.replace(/^.*\//, "");
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}
// Inclusive: each sample counts once for every module (and function) on its stack.
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const sourceCache = new Map<number, string>();
const sourceOfNode = (id: number) => sourceCache.get(id) ?? sourceCache.set(id, sourceOf(byId.get(id)!.callFrame)).get(id)!;
const inclusiveModule = new Map<string, number>();
const inclusiveFunction = new Map<string, number>();
for (const [leaf, us] of selfUs) {
  const modules = new Set<string>();
  const functions = new Set<string>();
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
    const source = sourceOfNode(id);
    modules.add(source);
    const f = byId.get(id)!.callFrame;
    functions.add(`${f.functionName || "(anonymous)"} ${source}:${f.lineNumber}`);
  }
  for (const m of modules) inclusiveModule.set(m, (inclusiveModule.get(m) ?? 0) + us);
  for (const f of functions) inclusiveFunction.set(f, (inclusiveFunction.get(f) ?? 0) + us);
}
const byModule = new Map<string, number>();
const byPackage = new Map<string, number>();
let total = 0;
for (const [id, us] of selfUs) {
  const source = sourceOf(byId.get(id)!.callFrame);
  byModule.set(source, (byModule.get(source) ?? 0) + us);
  const pkg = packageOf(source);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  total += us;
}
const ms = (us: number) => Math.round(us / 100) / 10;
const top = Number(values.top);
const table = (m: Map<string, number>, n: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `${ms(us).toFixed(1).padStart(8)} ms  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`).join("\n");
console.log(`total sampled ${ms(total)} ms (wall ${ms(profile.endTime - profile.startTime)} ms)\n\nby package\n${table(byPackage, top)}\n\nby module\n${table(byModule, top)}\n\ninclusive by module\n${table(inclusiveModule, top)}\n\ninclusive by function\n${table(inclusiveFunction, top * 2)}`);
console.log(JSON.stringify({ total_ms: ms(total), by_package: Object.fromEntries([...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => [k, ms(us)])) }));
