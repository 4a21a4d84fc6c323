/**
 * HTTP for a relying party on the developer's machine talking to `make dev`: real TLS, trusting
 * the platform's local CA only, with `*.<domain>` resolved to loopback (what the banner's
 * /etc/hosts line does, so it works before that line is added). Node's fetch cannot take a CA
 * or a resolver without undici's Agent, hence node:https.
 */
import { request } from "node:https";
import type { LookupFunction } from "node:net";

export type LocalFetch = (url: string, init: { method?: string; headers?: unknown; body?: unknown }) => Promise<Response>;

const loopback: LookupFunction = (_host, options, done) => {
  if ((options as { all?: boolean }).all) (done as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: "127.0.0.1", family: 4 }]);
  else done(null, "127.0.0.1", 4);
};

export function localHttpsFetch({ ca, domain }: { ca: Buffer; domain: string }): LocalFetch {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol !== "https:" || !(target.hostname === domain || target.hostname.endsWith(`.${domain}`))) {
        return reject(new Error(`only https://*.${domain} (the local platform) is reachable this way, not ${target.origin}`));
      }
      const headers = Object.fromEntries(new Headers(init.headers as HeadersInit | undefined));
      const req = request(target, { method: init.method ?? "GET", headers, ca, lookup: loopback }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) out.append(name, v);
          const status = res.statusCode ?? 502;
          resolve(new Response([204, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers: out }));
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(init.body === undefined || init.body === null ? undefined : String(init.body));
    });
}
