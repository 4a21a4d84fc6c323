/**
 * The frame every authplane stack shares: name `<env>-<component>`, an AWS provider locked to the
 * environment's account, default tags, and state in the environment's S3 bucket (bootstrap, which
 * creates that bucket, keeps local state).
 */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { LocalBackend, S3Backend, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { Environment } from "./environment.js";

/** The stacks of one environment, in deploy order. */
export const COMPONENTS = ["bootstrap", "network", "database", "auth", "authorizer", "monitoring"] as const;
export type Component = (typeof COMPONENTS)[number];

/** `<env>-<component>`: the stack name cdktf and `make deploy` use. */
export const stackName = (env: Environment, component: Component): string => `${env.name}-${component}`;

/** S3 key of a component's state. */
export const stateKey = (env: Environment, component: Component): string => `${env.name}/${component}/terraform.tfstate`;

/** Tags on every resource: the environment's own plus app and env, which nobody can override. */
export function defaultTags(env: Environment): Record<string, string> {
  return { ...env.tags, app: "authplane", env: env.name };
}

/** A stack of one environment with its provider and backend in place. */
export class ComponentStack extends TerraformStack {
  readonly environment: Environment;
  readonly component: Component;

  constructor(scope: Construct, env: Environment, component: Component) {
    super(scope, stackName(env, component));
    this.environment = env;
    this.component = component;

    new AwsProvider(this, "aws", {
      region: env.region,
      profile: env.profile,
      assumeRole: env.assumeRoleArn ? [{ roleArn: env.assumeRoleArn, sessionName: `authplane-${env.name}` }] : undefined,
      // A wrong profile or role fails before any call instead of touching another account.
      allowedAccountIds: [env.accountId],
      defaultTags: [{ tags: defaultTags(env) }],
    });

    if (component === "bootstrap" && env.bootstrapState === "local") {
      // The state bucket cannot hold its own creation's state. Relative to the stack's working
      // directory (cdktf.out/stacks/<stack>), i.e. the repository root, which survives `make clean`.
      new LocalBackend(this, { path: `../../../terraform.${stackName(env, component)}.tfstate` });
    } else {
      // bootstrapState "s3": the bucket holds bootstrap's state too, once migrated into it (docs/operations.md).
      new S3Backend(this, { bucket: env.stateBucket, key: stateKey(env, component), region: env.region, encrypt: true, profile: env.profile, assumeRole: env.assumeRoleArn ? { roleArn: env.assumeRoleArn } : undefined });
      // Terraform 1.11's native S3 locking; cdktf 0.21 has no option for it.
      this.addOverride("terraform.backend.s3.use_lockfile", true);
    }
  }
}
