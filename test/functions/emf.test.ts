/** EMF lines, the auth service's counters and the IAM token password: what CloudWatch would read. */
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { iamAuthPassword } from "../../functions/auth/db-iam.js";
import { authMetrics, signInMethod } from "../../functions/auth/metrics.js";
import { countMetric, emfLine, METRIC_NAMESPACE, setMetricSink } from "../../functions/emf.js";
import { AUTHPLANE_METRICS } from "../../modules/monitoring.js";

let restore: ((line: string) => void) | undefined;
afterEach(() => {
  if (restore) setMetricSink(restore);
  restore = undefined;
});
function capture(): Array<Record<string, any>> {
  const lines: Array<Record<string, any>> = [];
  restore = setMetricSink((line) => lines.push(JSON.parse(line)));
  return lines;
}

describe("Embedded Metric Format", () => {
  it("a line is a valid EMF document in the namespace the alarms read", () => {
    const doc = JSON.parse(emfLine("SignIns", 1, { method: "passkey" }, 1_700_000_000_000));
    expect(doc).toEqual({
      _aws: { Timestamp: 1_700_000_000_000, CloudWatchMetrics: [{ Namespace: "authplane", Dimensions: [["method"]], Metrics: [{ Name: "SignIns", Unit: "Count" }] }] },
      method: "passkey",
      SignIns: 1,
    });
    expect(METRIC_NAMESPACE).toBe(AUTHPLANE_METRICS.namespace);
  });

  it("odd dimension values fold to one bucket, so a caller cannot mint unbounded metrics", () => {
    const doc = JSON.parse(emfLine("SignIns", 1, { method: "x".repeat(100) }));
    expect(doc.method).toBe("other");
    expect(JSON.parse(emfLine("SignIns", 1, { method: "a b" })).method).toBe("other");
  });

  it("a broken sink never throws into the request", () => {
    restore = setMetricSink(() => {
      throw new Error("stdout closed");
    });
    expect(() => countMetric("TokensMinted")).not.toThrow();
  });
});

describe("auth service counters", () => {
  it("classifies successful sign-ins by method and ignores failures and starts", () => {
    expect(signInMethod("POST", "/api/auth/sign-in/email", 200, null)).toBe("email");
    expect(signInMethod("POST", "/api/auth/sign-in/email", 401, null)).toBeUndefined();
    expect(signInMethod("POST", "/api/auth/passkey/verify-authentication", 200, null)).toBe("passkey");
    expect(signInMethod("POST", "/api/auth/native/exchange", 200, null)).toBe("native");
    expect(signInMethod("GET", "/api/auth/callback/google", 302, "https://app.example.org/")).toBe("google");
    expect(signInMethod("GET", "/api/auth/callback/google", 302, "https://app.example.org/?error=access_denied")).toBeUndefined();
    // Starting an OAuth sign-in is not a sign-in.
    expect(signInMethod("POST", "/api/auth/sign-in/social", 200, null)).toBeUndefined();
  });

  it("the middleware counts sign-ins, minted tokens and database-unavailable answers, and leaves responses alone", async () => {
    const lines = capture();
    const app = new Hono();
    app.use("/api/auth/*", authMetrics());
    app.post("/api/auth/sign-in/email", (c) => c.json({ ok: true }));
    app.get("/api/auth/token", (c) => c.json({ token: "t" }));
    app.get("/api/auth/get-session", (c) => c.json({ error: "database_unavailable" }, 503, { "retry-after": "5" }));
    expect((await app.request("/api/auth/sign-in/email", { method: "POST" })).status).toBe(200);
    expect(await (await app.request("/api/auth/token")).json()).toEqual({ token: "t" });
    const unavailable = await app.request("/api/auth/get-session");
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get("retry-after")).toBe("5");
    expect(lines.map((l) => [l._aws.CloudWatchMetrics[0].Metrics[0].Name, l.method])).toEqual([
      ["SignIns", "email"],
      ["TokensMinted", undefined],
      ["DatabaseErrors", undefined],
    ]);
    expect([AUTHPLANE_METRICS.signIns, AUTHPLANE_METRICS.tokensMinted, AUTHPLANE_METRICS.databaseErrors]).toEqual(["SignIns", "TokensMinted", "DatabaseErrors"]);
  });
});

describe("IAM database authentication", () => {
  it("signs a token for the service's own user and reuses it across connections", async () => {
    const calls: unknown[] = [];
    const password = iamAuthPassword({ host: "db.example", port: 5432, user: "authplane_service", region: "eu-west-1" }, async (o) => {
      calls.push(o);
      return `token-${calls.length}`;
    });
    expect(await Promise.all([password(), password()])).toEqual(["token-1", "token-1"]);
    expect(calls).toEqual([{ host: "db.example", port: 5432, user: "authplane_service", region: "eu-west-1" }]);
  });

  it("a failed signing is not cached: the next connection signs again", async () => {
    let n = 0;
    const password = iamAuthPassword({ host: "db", port: 5432, user: "u", region: "eu-west-1" }, async () => {
      n++;
      if (n === 1) throw new Error("no credentials");
      return "fresh";
    });
    await expect(password()).rejects.toThrow("no credentials");
    expect(await password()).toBe("fresh");
  });

  it("the real signer produces an RDS connect token (presigned, 15 minutes) without any network call", async () => {
    const env = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", AWS_SESSION_TOKEN: "" });
    try {
      const token = await iamAuthPassword({ host: "db.cluster-x.eu-west-1.rds.amazonaws.com", port: 5432, user: "authplane_service", region: "eu-west-1" })();
      expect(token).toMatch(/^db\.cluster-x\.eu-west-1\.rds\.amazonaws\.com:5432\/\?Action=connect&DBUser=authplane_service&X-Amz-Algorithm=AWS4-HMAC-SHA256&/);
      expect(token).toContain("X-Amz-Expires=900");
    } finally {
      process.env = env;
    }
  });
});
