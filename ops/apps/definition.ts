/**
 * An app as data: its slug (the organization), and for each role the permissions it grants, as
 * Better Auth access-control statements (resource → actions). The optional `resources` list
 * declares every resource and action the app knows, so a typo in a role is an error, not a
 * silently useless permission.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { OidcClientSchema } from "./oidc-clients.js";

const slug = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, { message: 'expected lower-case letters, digits and dashes, e.g. "hiring-admin"' });
const action = z.string().regex(/^[a-z][a-z0-9_-]*$/, { message: 'expected a lower-case action name, e.g. "read"' });
/** A browser origin the app is served on; tokens minted from it carry this app (app-origin.ts). */
const webOrigin = z
  .string()
  .refine((s) => URL.canParse(s) && new URL(s).protocol === "https:" && new URL(s).origin === s.replace(/\/$/, ""), {
    message: 'expected an https origin like "https://hiring.example.org" (scheme, host, optional port; no path)',
  })
  .transform((s) => new URL(s).origin);
/** What a native app sends as x-authplane-client-id, e.g. its bundle id. */
const nativeClientId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, { message: 'expected an id like "org.example.hiring" (letters, digits, . _ : -)' });
const statements = z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, { message: 'expected a lower-case resource name, e.g. "candidate"' }), z.array(action).min(1));

export const AppDefinitionSchema = z
  .object({
    slug,
    name: z.string().min(1),
    resources: statements.optional(),
    origins: z.array(webOrigin).default([]),
    nativeClientIds: z.array(nativeClientId).default([]),
    roles: z.record(slug, z.object({ name: z.string().min(1), permissions: statements }).strict()).refine((r) => Object.keys(r).length > 0, {
      message: "declare at least one role",
    }),
    /** The app's OpenID Connect client, for a tool that signs in with OIDC (see docs/oidc.md). */
    oidc: OidcClientSchema.optional(),
  })
  .strict()
  .superRefine((app, ctx) => {
    if (!app.resources) return;
    for (const [role, { permissions }] of Object.entries(app.roles)) {
      for (const [resource, actions] of Object.entries(permissions)) {
        const known = app.resources[resource];
        if (!known) {
          ctx.addIssue({ code: "custom", path: ["roles", role, "permissions", resource], message: `unknown resource; declared: ${Object.keys(app.resources).join(", ")}` });
          continue;
        }
        for (const a of actions) {
          if (!known.includes(a)) ctx.addIssue({ code: "custom", path: ["roles", role, "permissions", resource], message: `unknown action "${a}"; ${resource} allows: ${known.join(", ")}` });
        }
      }
    }
  });

export type AppDefinition = z.output<typeof AppDefinitionSchema>;

export class AppsError extends Error {
  override name = "AppsError";
}

export function parseApp(file: string, text: string): AppDefinition {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AppsError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const result = AppDefinitionSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `  ${i.path.join(".") || "(file)"}: ${i.message}`);
    throw new AppsError(`${file}:\n${issues.join("\n")}`);
  }
  if (!file.endsWith(`${result.data.slug}.json`)) throw new AppsError(`${file}: slug "${result.data.slug}" must match the file name (${result.data.slug}.json)`);
  return result.data;
}

/** Every `*.json` in `dir`; all files are checked before any is used. */
export function loadApps(dir: string): AppDefinition[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  if (!files.length) throw new AppsError(`${dir}: no app files (*.json)`);
  const errors: string[] = [];
  const apps: AppDefinition[] = [];
  for (const f of files) {
    try {
      apps.push(parseApp(join(dir, f), readFileSync(join(dir, f), "utf8")));
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length) throw new AppsError(errors.join("\n"));
  // One origin or client id names one app; shared, no token could say which app it is for.
  const owners = new Map<string, string>();
  for (const app of apps) {
    for (const key of [...app.origins.map((o) => `origin ${o}`), ...app.nativeClientIds.map((id) => `native client id ${id}`)]) {
      const other = owners.get(key);
      if (other && other !== app.slug) errors.push(`${key} is listed by both ${other}.json and ${app.slug}.json; each belongs to one app`);
      owners.set(key, app.slug);
    }
  }
  if (errors.length) throw new AppsError(errors.join("\n"));
  return apps;
}

/** Canonical JSON of a role's statements, so "unchanged" compares equal regardless of key order. */
export function canonicalPermissions(p: Record<string, string[]>): string {
  return JSON.stringify(Object.fromEntries(Object.keys(p).sort().map((k) => [k, [...new Set(p[k])].sort()])));
}
