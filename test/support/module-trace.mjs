/**
 * `node --import ./test/support/module-trace.mjs`: appends the URL of every module the process
 * resolves (static and dynamic imports alike) to the file named by MODULE_TRACE, so a test can
 * tell which chunks of a bundle a request actually loaded.
 */
import { register } from "node:module";

const hooks = `
import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (process.env.MODULE_TRACE) appendFileSync(process.env.MODULE_TRACE, resolved.url + "\\n");
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
