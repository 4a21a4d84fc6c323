import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../../functions/auth/app.js";
import { configFromEnv } from "../../../functions/auth/config.js";
import { APP_ONE, APP_TWO, Browser, startService, testEnv, type Service } from "./harness.js";

const rpIdSeenBy = (service: Service, origin: string) =>
  new Browser(service, origin).json<{ rpId: string }>("/api/auth/passkey/generate-authenticate-options").then((o) => o.rpId);

describe("passkey RP ID", () => {
  const services: Service[] = [];
  afterAll(() => Promise.all(services.map((s) => s.close())));

  it("is the configured parent domain for every app, so one passkey works on all of them", async () => {
    const service = await startService(await testEnv("rp_parent"));
    services.push(service);
    expect(await rpIdSeenBy(service, APP_ONE)).toBe("authplane.test");
    expect(await rpIdSeenBy(service, APP_TWO)).toBe("authplane.test");
  });

  it("unset, is each app's own host (single-app local development)", async () => {
    const env = await testEnv("rp_per_app", { PASSKEY_RP_ID: undefined });
    const service = await startService(env);
    services.push(service);
    // No `auth` passed: createApp builds one Better Auth per request host.
    const perHost = { ...service, app: createApp(configFromEnv(env)) };
    expect(await rpIdSeenBy(perHost, APP_ONE)).toBe("app-one.authplane.test");
    expect(await rpIdSeenBy(perHost, APP_TWO)).toBe("app-two.authplane.test");
  });
});
