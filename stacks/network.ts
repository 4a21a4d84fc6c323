import type { Construct } from "constructs";
import { Network } from "../modules/index.js";
import { ComponentStack } from "../infra/component-stack.js";
import type { Environment } from "../infra/environment.js";

/** `<env>-network`: dual-stack VPC; IPv6 egress without NAT unless the environment opts in. */
export function networkStack(scope: Construct, env: Environment) {
  const stack = new ComponentStack(scope, env, "network");
  const network = new Network(stack, "network", { name: `authplane-${env.name}`, natGateway: env.natGateway });
  return { stack, network };
}
