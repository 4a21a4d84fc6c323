/**
 * What the end-to-end tests share: the whole local platform on free ports (the same
 * startPlatform `make dev` runs), Chromium that reaches every app name and the RP ID's origin,
 * and small helpers that drive the demo page the way a person does, through its element ids.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startPlatform, type Platform, type PlatformOptions } from "../../dev/platform.js";
import { launchChromium } from "../support/chromium.js";
import { freshDatabaseUrl } from "../support/database.js";
import { freePort } from "../support/postgres.js";

export const DOMAIN = "authplane.test";
export const OTHER_DOMAIN = "authplane-demo.test";

export interface TestPlatform {
  platform: Platform;
  options: PlatformOptions;
}

/** app-one and app-two on the parent domain, app-three on another registrable domain. */
export async function startTestPlatform(prefix: string): Promise<TestPlatform> {
  const [authPort, one, two, three, gatewayPort, rpOriginPort, googlePort, issuerPort] = await Promise.all(Array.from({ length: 8 }, () => freePort()));
  const options: PlatformOptions = {
    domain: DOMAIN,
    authPort,
    apps: { "app-one": one!, "app-two": two!, "app-three": { port: three!, domain: OTHER_DOMAIN } },
    gatewayPort,
    rpOriginPort,
    googlePort,
    issuerPort,
    databaseUrl: await freshDatabaseUrl(prefix),
    stateDir: mkdtempSync(join(tmpdir(), "authplane-e2e-")),
  };
  return { platform: await startPlatform(options), options };
}

export function launchFor(platform: Platform): Promise<Browser> {
  return launchChromium({
    domain: DOMAIN,
    extraDomains: platform.domains.filter((d) => d !== DOMAIN),
    spkiSha256: platform.tls.spkiSha256,
    // Browsers fetch https://<RP ID>/.well-known/webauthn on port 443; the platform serves it elsewhere.
    hostPorts: { [DOMAIN]: Number(new URL(platform.rpOriginUrl).port) },
  });
}

/** Screenshots of each page state, kept as test artifacts under .tmp/ (git-ignored). */
export function screenshots(suite: string) {
  const dir = join(process.cwd(), ".tmp", "screenshots", suite);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return (page: Page, state: string) => page.screenshot({ path: join(dir, `${String(++n).padStart(2, "0")}-${state}.png`), fullPage: true });
}

export interface ActionResult {
  outcome: "ok" | "error";
  message: string;
  action: string;
}

/** The page reports each finished action on #status (data-seq bumps, data-action names it). */
export async function statusAfter(page: Page, run: () => Promise<unknown>): Promise<ActionResult> {
  const before = Number((await page.getAttribute("#status", "data-seq")) ?? 0);
  await run();
  await page.waitForFunction((seq) => Number(document.getElementById("status")?.dataset.seq ?? 0) > seq, before);
  return page.evaluate(() => {
    const s = document.getElementById("status")!;
    return { outcome: s.dataset.outcome as "ok" | "error", message: s.textContent ?? "", action: s.dataset.action ?? "" };
  });
}

export const click = (page: Page, selector: string) => statusAfter(page, () => page.click(selector));

/** Open an app's page and wait until it has found out who is signed in. */
export async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("status")?.dataset.ready === "true");
}

export const whoami = (page: Page) => page.textContent("#whoami");

export async function claims(page: Page): Promise<Record<string, unknown>> {
  return JSON.parse((await page.textContent("#token-claims")) || "null") as Record<string, unknown>;
}

/** A second device: a roaming security key (Chromium allows one internal authenticator per page). */
export async function addSecurityKey(page: Page): Promise<{ remove: () => Promise<void> }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "usb", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { remove: async () => void (await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId })) };
}
