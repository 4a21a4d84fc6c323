import type { Construct } from "constructs";
import { StateBucket } from "../modules/index.js";
import { ComponentStack } from "../infra/component-stack.js";
import type { Environment } from "../infra/environment.js";

/** `<env>-bootstrap`: the S3 bucket every other stack keeps its state in (this one keeps local state). */
export function bootstrapStack(scope: Construct, env: Environment) {
  const stack = new ComponentStack(scope, env, "bootstrap");
  const bucket = new StateBucket(stack, "state", { bucketName: env.stateBucket });
  return { stack, bucket };
}
