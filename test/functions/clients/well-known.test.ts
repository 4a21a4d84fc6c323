import { describe, expect, it } from "vitest";
import { appLinkPathsFor, wellKnownRoutes } from "../../../functions/auth/well-known.js";

const FP = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0").toUpperCase()).join(":");

describe("app association files", () => {
  const app = wellKnownRoutes({
    appleAppIds: ["ABCDE12345.org.example.app"],
    androidAppLinks: [`org.example.app=${FP.toLowerCase()}`, `org.example.app=${FP.replace(/^00/, "FF")}`],
    appLinkPaths: ["/app/callback"],
  });

  it("serves apple-app-site-association as JSON without extension or redirect", async () => {
    const res = await app.request("/.well-known/apple-app-site-association");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("location")).toBeNull();
    expect(await res.json()).toEqual({
      applinks: { details: [{ appIDs: ["ABCDE12345.org.example.app"], components: [{ "/": "/app/callback" }] }] },
      webcredentials: { apps: ["ABCDE12345.org.example.app"] },
    });
  });

  it("serves assetlinks.json with one statement per package and upper-case fingerprints", async () => {
    const res = await app.request("/.well-known/assetlinks.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = (await res.json()) as Array<{ relation: string[]; target: Record<string, unknown> }>;
    expect(body).toHaveLength(1);
    expect(body[0]!.relation).toEqual([
      "delegate_permission/common.handle_all_urls",
      "delegate_permission/common.get_login_creds",
    ]);
    expect(body[0]!.target).toEqual({
      namespace: "android_app",
      package_name: "org.example.app",
      sha256_cert_fingerprints: [FP, FP.replace(/^00/, "FF")],
    });
  });

  it("answers 404 for a platform that is not configured", async () => {
    const bare = wellKnownRoutes({});
    expect((await bare.request("/.well-known/apple-app-site-association")).status).toBe(404);
    expect((await bare.request("/.well-known/assetlinks.json")).status).toBe(404);
  });

  it("refuses to start with a malformed app id or fingerprint, naming the entry", () => {
    expect(() => wellKnownRoutes({ appleAppIds: ["org.example.app"] })).toThrow(/APPLE_APP_IDS: "org.example.app"/);
    expect(() => wellKnownRoutes({ androidAppLinks: ["org.example.app=AB:CD"] })).toThrow(/ANDROID_APP_LINKS/);
  });
});

describe("app link paths", () => {
  it("are the https callbacks on the service's own host; custom schemes and other hosts are left out", () => {
    const callbacks = [
      "org.example.app:/oauth",
      "https://auth.example.org/app/callback",
      "https://auth.example.org/app/callback",
      "https://other.example.org/app/callback",
    ];
    expect(appLinkPathsFor(callbacks, "https://auth.example.org")).toEqual(["/app/callback"]);
  });
});
