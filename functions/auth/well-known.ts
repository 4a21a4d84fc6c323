/**
 * The files iOS and Android fetch to trust this domain for an app: Universal Links / App Links
 * (so only the verified app receives the one-time code on an https callback) and shared web
 * credentials (so the app can use passkeys bound to this domain).
 *
 * Apple fetches /.well-known/apple-app-site-association without an extension, must get
 * JSON with no redirect; Android fetches /.well-known/assetlinks.json. Browsers fetch
 * /.well-known/webauthn for passkeys used on origins outside the RP ID's domain.
 */
import { Hono } from "hono";

export interface AppAssociationOptions {
  /**
   * Apple application identifiers, `<TEAM ID>.<bundle id>`.
   * @default []
   * @example ["ABCDE12345.org.example.app"]
   */
  appleAppIds?: string[];
  /**
   * Android apps as `<package name>=<SHA-256 signing certificate fingerprint>`; repeat a package
   * for several fingerprints.
   * @default []
   * @example ["org.example.app=14:6D:E9:...:A5"]
   */
  androidAppLinks?: string[];
  /**
   * Paths on this domain that open the app (Universal Links / App Links).
   * @default []
   * @example ["/app/callback"]
   */
  appLinkPaths?: string[];
  /**
   * WebAuthn Related Origin Requests: https origins on other registrable domains that may use
   * this RP ID. Browsers fetch `https://<RP ID>/.well-known/webauthn`, so this route must be
   * reachable on the RP ID's own origin (serve it there or proxy that one path here).
   * @default []
   * @example ["https://app.example-brand.com"]
   */
  relatedOrigins?: string[];
}

export const APPLE_APP_ID = /^[A-Z0-9]{10}\.[A-Za-z0-9.-]+$/;
export const ANDROID_APP_LINK = /^([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+)=((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$/;

/** Throws naming the first malformed entry, so a bad deploy fails at start-up, not on a phone. */
export function validateAppAssociation(opts: AppAssociationOptions): void {
  for (const id of opts.appleAppIds ?? []) {
    if (!APPLE_APP_ID.test(id)) throw new Error(`APPLE_APP_IDS: "${id}" is not <10-char TEAM ID>.<bundle id>`);
  }
  for (const link of opts.androidAppLinks ?? []) {
    if (!ANDROID_APP_LINK.test(link)) {
      throw new Error(`ANDROID_APP_LINKS: "${link}" is not <package>=<SHA-256 fingerprint AA:BB:…(32 bytes)>`);
    }
  }
  for (const path of opts.appLinkPaths ?? []) {
    if (!path.startsWith("/")) throw new Error(`app link path "${path}" must start with "/"`);
  }
}

export function appleAppSiteAssociation(opts: AppAssociationOptions) {
  const appIDs = opts.appleAppIds ?? [];
  return {
    applinks: {
      details: (opts.appLinkPaths ?? []).length
        ? [{ appIDs, components: (opts.appLinkPaths ?? []).map((path) => ({ "/": path })) }]
        : [],
    },
    webcredentials: { apps: appIDs },
  };
}

export function androidAssetLinks(opts: AppAssociationOptions) {
  const byPackage = new Map<string, string[]>();
  for (const link of opts.androidAppLinks ?? []) {
    const [, pkg, fingerprint] = ANDROID_APP_LINK.exec(link) ?? [];
    if (!pkg || !fingerprint) continue;
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), fingerprint.toUpperCase()]);
  }
  const relation = ["delegate_permission/common.get_login_creds"];
  if ((opts.appLinkPaths ?? []).length) relation.unshift("delegate_permission/common.handle_all_urls");
  return [...byPackage].map(([packageName, fingerprints]) => ({
    relation,
    target: { namespace: "android_app", package_name: packageName, sha256_cert_fingerprints: fingerprints },
  }));
}

const CACHE = { "cache-control": "public, max-age=3600" };

/** Mount at the root: `app.route("/", wellKnownRoutes(opts))`. Unconfigured platforms answer 404. */
export function wellKnownRoutes(opts: AppAssociationOptions): Hono {
  validateAppAssociation(opts);
  const apple = (opts.appleAppIds ?? []).length ? JSON.stringify(appleAppSiteAssociation(opts)) : null;
  const android = (opts.androidAppLinks ?? []).length ? JSON.stringify(androidAssetLinks(opts)) : null;
  const webauthn = (opts.relatedOrigins ?? []).length ? JSON.stringify({ origins: opts.relatedOrigins }) : null;
  const app = new Hono();
  app.get("/.well-known/apple-app-site-association", (c) =>
    apple ? c.body(apple, 200, { "content-type": "application/json", ...CACHE }) : c.notFound(),
  );
  app.get("/.well-known/assetlinks.json", (c) =>
    android ? c.body(android, 200, { "content-type": "application/json", ...CACHE }) : c.notFound(),
  );
  // Fetched by the browser itself, credential-less and without CORS; it must be JSON, no redirect.
  app.get("/.well-known/webauthn", (c) => (webauthn ? c.body(webauthn, 200, { "content-type": "application/json", ...CACHE }) : c.notFound()));
  return app;
}

/**
 * The app-link paths implied by the native callbacks: every https callback on this service's
 * own host must open the app, so the association files list exactly those paths.
 */
export function appLinkPathsFor(callbacks: readonly string[], serviceUrl: string): string[] {
  const host = new URL(serviceUrl).host;
  const paths = callbacks
    .map((c) => new URL(c))
    .filter((u) => u.protocol === "https:" && u.host === host)
    .map((u) => u.pathname);
  return [...new Set(paths)];
}
