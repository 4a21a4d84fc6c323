// Stand-in for the JWT authorizer until `make build` has bundled functions/authorizer. It denies
// every request: HTTP APIs read `isAuthorized`, REST APIs read the policy document.
export const handler = async (event) => ({
  isAuthorized: false,
  principalId: "unbuilt-authorizer",
  policyDocument: {
    Version: "2012-10-17",
    Statement: [{ Action: "execute-api:Invoke", Effect: "Deny", Resource: event?.methodArn ?? event?.routeArn ?? "*" }],
  },
});
