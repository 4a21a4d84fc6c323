/**
 * Stand-in for zod's `locales` namespace inside the Lambda bundle (wired by functions/build.ts).
 * `import * as z from "zod"` keeps all ~50 error-message locales (a quarter megabyte, the
 * largest single piece of the bundle) although nothing here calls `z.locales.<lang>()`;
 * zod itself registers English directly. Only English is kept.
 */
export { default as en } from "zod/v4/locales/en.js";
