/**
 * The one function that connects to the database as its master user: it runs the schema
 * migration (`{"authplane":"migrate"}`) and creates the service's own login role. It shares the
 * auth service's bundle but has no API, no trigger and its own role, so the function that
 * serves traffic can neither read the master secret nor change the schema.
 */
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { Construct } from "constructs";
import type { LambdaBundle } from "./lambda-bundle.js";
import { LambdaRole, VPC_FUNCTION_ENVIRONMENT } from "./lambda-role.js";

export interface DatabaseMigratorProps {
  /** Function, role and log group name. */
  name: string;
  bundle: LambdaBundle;
  subnetIds: string[];
  /** HTTPS egress (Secrets Manager) and the database's client group. */
  securityGroupIds: string[];
  /** The service's configuration plus DB_SECRET_ARN (the master secret) and DB_SERVICE_ROLE. */
  environment: Record<string, string>;
  /** Secrets it may read: the master secret and the Better Auth secret. */
  secretArns: string[];
  /** @default 30 */
  logRetentionDays?: number;
  /** @default CloudWatch Logs' own encryption */
  logKmsKeyArn?: string;
  /** A migration on a resuming cluster can take minutes. @default 300 */
  timeoutSeconds?: number;
}

export class DatabaseMigrator extends Construct {
  readonly functionName: string;
  readonly fn: LambdaFunction;

  constructor(scope: Construct, id: string, props: DatabaseMigratorProps) {
    super(scope, id);
    const role = new LambdaRole(this, "role", {
      functionName: props.name,
      logRetentionDays: props.logRetentionDays ?? 30,
      logKmsKeyArn: props.logKmsKeyArn,
      vpc: true,
      statements: [{ sid: "MigrationSecrets", actions: ["secretsmanager:GetSecretValue"], resources: props.secretArns }],
    });
    this.fn = new LambdaFunction(this, "function", {
      functionName: props.name,
      description: 'authplane schema migration as the master user: invoke with {"authplane":"migrate"}',
      role: role.role.arn,
      ...props.bundle.code,
      memorySize: 512,
      timeout: props.timeoutSeconds ?? 300,
      // One migration at a time: two concurrent runs would race on the same DDL.
      reservedConcurrentExecutions: 1,
      environment: {
        variables: { ...VPC_FUNCTION_ENVIRONMENT, ...props.environment },
      },
      vpcConfig: { subnetIds: props.subnetIds, securityGroupIds: props.securityGroupIds, ipv6AllowedForDualStack: true },
      loggingConfig: { logFormat: "JSON", logGroup: role.logGroup.name },
      dependsOn: [role.policy, role.logGroup],
    });
    this.functionName = this.fn.functionName;
  }
}
