export * from "./aurora-serverless.js";
export * from "./auth-secrets.js";
export * from "./auth-service.js";
export * from "./jwt-authorizer.js";
export * from "./lambda-bundle.js";
export * from "./lambda-role.js";
export * from "./network.js";
export * from "./state-bucket.js";
