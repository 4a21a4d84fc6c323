// Stand-in for the auth service until `make build` has bundled functions/auth: deployed by a
// synth without a build, it answers every request with 503 instead of pretending to work.
export const handler = async () => ({
  statusCode: 503,
  headers: { "content-type": "application/json", "retry-after": "60" },
  body: JSON.stringify({ error: "auth service not built: run `make build` and deploy again" }),
});
