import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Native children (postgres, chromium, terraform, redis) are happier in forks than threads.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Benchmarks are not tests: no timing assertions live here.
  },
});
