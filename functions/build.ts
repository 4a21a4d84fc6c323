/**
 * The one bundling helper: `npm run build` calls it for every function, and the infra's
 * LambdaBundle construct calls it (by function name) at synth, so what is tested is what ships.
 * Output: dist/functions/<name>/index.mjs (+ lazy chunks), Lambda handler `index.handler`.
 */
import { build, type BuildOptions, type Metafile, type Plugin } from "esbuild";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** ESM bundles keep working with dependencies that still call `require` (the auth service's do; the authorizer's do not). */
const REQUIRE_BANNER =
  "import { createRequire as __authplaneCreateRequire } from 'node:module';" +
  "const require = __authplaneCreateRequire(import.meta.url);";

/** What every bundle here is: ESM for Lambda's Node 22 (benchmarks build their baselines from it too). */
export const NODE22_ESM = {
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  outExtension: { ".js": ".mjs" },
} as const satisfies BuildOptions;

/** The banner the auth bundle carries, for builds of the same code elsewhere. */
export const REQUIRE_BANNER_OPTIONS = { banner: { js: REQUIRE_BANNER } } as const satisfies BuildOptions;

export interface FunctionSpec {
  /** Entry module, relative to the repository root. */
  entry: string;
  /** Extra esbuild options for this function. */
  options?: BuildOptions;
}

/** An esbuild resolve filter matching exactly this specifier. */
const exact = (specifier: string) => new RegExp(`^${specifier.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);

/**
 * Swap `fromPackage`'s import of `name` for a stand-in that imports the real thing on first use
 * (esbuild puts it in its own chunk). For dependencies only some routes need.
 */
function lazyDependency(name: string, fromPackage: string, standIn: string): Plugin {
  const virtual = `authplane:${name.replace(/^@/, "").replace("/", "-")}`;
  return {
    name: `lazy-${name}`,
    setup(b) {
      b.onResolve({ filter: exact(name) }, (args) =>
        args.importer.includes(`/node_modules/${fromPackage}/`) ? { path: join(ROOT, standIn) } : undefined,
      );
      // The stand-in's own import: the copy `fromPackage` depends on (it may pin its own version).
      b.onResolve({ filter: exact(virtual) }, async () => {
        const real = await b.resolve(name, { kind: "dynamic-import", resolveDir: join(ROOT, "node_modules", fromPackage) });
        return { path: real.path };
      });
    },
  };
}

/**
 * Swap one package-internal import (`specifier` as written in `importer`, a path under
 * node_modules) for a stand-in that imports the real file on first use, as `virtual`.
 */
function lazyInternal(importer: string, specifier: string, virtual: string, standIn: string): Plugin {
  const from = join(ROOT, "node_modules", importer);
  const real = join(dirname(from), specifier);
  return {
    name: `lazy-${virtual}`,
    setup(b) {
      b.onResolve({ filter: exact(specifier) }, (args) => (args.importer === from ? { path: join(ROOT, standIn) } : undefined));
      b.onResolve({ filter: exact(virtual) }, () => ({ path: real }));
    },
  };
}

/** Swap one of our own modules for a stand-in, by the importer-relative specifier. */
function replaceModule(specifier: string, standIn: string): Plugin {
  return {
    name: `replace-${specifier}`,
    setup(b) {
      b.onResolve({ filter: exact(specifier) }, (args) => (args.importer.startsWith(join(ROOT, "functions")) ? { path: join(ROOT, standIn) } : undefined));
    },
  };
}

/** Replace zod's all-locales namespace with English only (see functions/auth/lazy/zod-locales.ts). */
const englishOnlyZod: Plugin = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /\/node_modules\/zod\/v4\/(classic|core)\//.test(args.importer) ? { path: join(ROOT, "functions/auth/lazy/zod-locales.ts") } : undefined,
    );
  },
};

/** The authorizer's own property names (class state, option and config fields), safe to shorten. */
const AUTHORIZER_INTERNAL_PROPS = new RegExp(
  `^(${[
    "options", "loadedAt", "lastAttempt", "inflight", "failures", "retryAfterMs", "fetchKeys", "fetchFeed", "confirmedAt", "nextAttemptAt",
    "knownHeaders", "scratch", "lastFlush", "lastFault", "interval", "cooldownMs", "maxAgeMs", "timeoutMs", "refreshMs", "maxStaleMs",
    "onFetchError", "jwksCooldownMs", "jwksMaxAgeMs", "jwksTimeoutMs", "revocationsRefreshMs", "revocationsMaxStaleMs", "revocationsUrl",
    "metricsFlushMs", "flushIntervalMs", "clockToleranceSeconds", "maxLifetimeSeconds", "maxTokenLength", "cacheEntries", "seedJwks",
    "jwksUrl", "requirementOf", "headerPart", "payloadPart", "signingInput", "expiresAt",
  ].join("|")})$`,
);

export const FUNCTIONS = {
  auth: {
    entry: "functions/auth/lambda.ts",
    // Lazy chunks: routes only some requests need load on first use, not at cold start.
    options: {
      splitting: true,
      ...REQUIRE_BANNER_OPTIONS,
      plugins: [
        englishOnlyZod,
        replaceModule("./google-override.js", "functions/auth/lazy/no-google-override.ts"),
        lazyDependency("@simplewebauthn/server", "@better-auth/passkey", "functions/auth/lazy/simplewebauthn-server.ts"),
        lazyDependency("@better-auth/telemetry", "better-auth", "functions/auth/lazy/telemetry.ts"),
        lazyInternal("better-auth/dist/context/init.mjs", "../db/get-migration.mjs", "authplane:better-auth-get-migration", "functions/auth/lazy/better-auth-migrations.ts"),
      ],
    },
  },
  authorizer: {
    entry: "functions/authorizer/handler.ts",
    // Its 20 KB budget (test/functions/authorizer/bundle.test.ts): minify also the names of
    // internal state and settings, which never leave the bundle. Only names no event, response,
    // JSON document, JWK or Node API uses: esbuild renames every property of that name.
    options: { mangleProps: AUTHORIZER_INTERNAL_PROPS },
  },
} satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

export interface BuiltFunction {
  name: FunctionName;
  outdir: string;
  /** Lambda handler string for this bundle. */
  handler: string;
  bytes: number;
  /** esbuild's metafile, when the build was asked for one (`extra.metafile`). */
  metafile?: Metafile;
}

export function functionOutdir(name: FunctionName, root = ROOT): string {
  return join(root, "dist", "functions", name);
}

/** `extra` adds build options for tools (the cold-start profile builds with source maps). */
export async function buildFunction(name: FunctionName, outdir = functionOutdir(name), extra: BuildOptions = {}): Promise<BuiltFunction> {
  const spec: FunctionSpec = FUNCTIONS[name];
  const define = { ...spec.options?.define, ...(await buildTimeDefines(name)), ...extra.define };
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: { index: join(ROOT, spec.entry) },
    outdir,
    ...NODE22_ESM,
    minify: true,
    treeShaking: true,
    legalComments: "none",
    // The Lambda runtime ships the AWS SDK v3 clients; bundling them again only slows cold
    // starts. Its utility packages are not all there (@aws-sdk/rds-signer is not), so those
    // are bundled, into a chunk loaded only when IAM database authentication is on.
    external: ["@aws-sdk/client-*"],
    logLevel: "warning",
    ...spec.options,
    ...extra,
    define,
  });
  return { name, outdir, handler: "index.handler", bytes: dirBytes(outdir), metafile: result.metafile };
}

/**
 * Values computed here and embedded in the bundle. The auth service's lean session read gets its
 * plan from Better Auth's context now, so a cold instance need not load Better Auth to serve it
 * (functions/auth/session-read-snapshot.ts); loaded only when the auth bundle is built.
 */
async function buildTimeDefines(name: FunctionName): Promise<Record<string, string>> {
  if (name !== "auth") return {};
  const { sessionPlanSnapshot } = await import("./auth/session-read-snapshot.js");
  return { __AUTHPLANE_SESSION_PLAN__: JSON.stringify(JSON.stringify(await sessionPlanSnapshot())) };
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    const s = statSync(p);
    total += s.isDirectory() ? dirBytes(p) : s.size;
  }
  return total;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = (process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(FUNCTIONS)) as FunctionName[];
  for (const name of names) {
    if (!(name in FUNCTIONS)) throw new Error(`unknown function "${name}"; known: ${Object.keys(FUNCTIONS).join(", ")}`);
    const built = await buildFunction(name);
    console.log(`${name}: ${built.outdir} (${built.bytes} bytes)`);
  }
}
