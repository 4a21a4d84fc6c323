/**
 * The execution role and log group every authplane function gets: logs only to its own group,
 * plus whatever statements the caller adds. Nothing with Resource "*" except the ENI actions a
 * VPC function needs (EC2 does not support resource-level permissions for them) and, when
 * traced, X-Ray's two write actions (which have no resource either).
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group/index.js";
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role/index.js";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy/index.js";
import { Construct } from "constructs";

export interface LambdaRoleProps {
  functionName: string;
  logRetentionDays: number;
  /** The function runs in a VPC (needs to manage its network interfaces). */
  vpc: boolean;
  /** Further least-privilege statements. @default [] */
  statements?: DataAwsIamPolicyDocumentStatement[];
  /** KMS key ARN encrypting the log group. @default CloudWatch Logs' own encryption */
  logKmsKeyArn?: string;
  /** The function sends X-Ray traces. @default false */
  tracing?: boolean;
}

/**
 * AWS's documented minimum for a function in a VPC (the AWSLambdaVPCAccessExecutionRole
 * actions); dual-stack subnets need nothing more: Lambda assigns the ENI's IPv6 address itself.
 */
export const VPC_ENI_ACTIONS = [
  "ec2:CreateNetworkInterface",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "ec2:DeleteNetworkInterface",
  "ec2:AssignPrivateIpAddresses",
  "ec2:UnassignPrivateIpAddresses",
];

/**
 * The environment of a function in the private subnets that talks to Aurora: those subnets reach
 * AWS APIs over IPv6 (egress-only gateway, no NAT), so the SDK must use the dual-stack endpoints,
 * which also answer over IPv4; and Node.js 18+ Lambda runtimes ship the Amazon RDS CAs but load
 * them only on request, while the database connection verifies Aurora's certificate against them.
 */
export const VPC_FUNCTION_ENVIRONMENT: Readonly<Record<string, string>> = {
  AWS_USE_DUALSTACK_ENDPOINT: "true",
  NODE_EXTRA_CA_CERTS: "/var/runtime/ca-cert.pem",
};

/** What AWSXrayWriteOnlyAccess grants a traced function, minus the sampling reads it does not use. */
export const XRAY_WRITE_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

export class LambdaRole extends Construct {
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  readonly policy: IamRolePolicy;

  constructor(scope: Construct, id: string, props: LambdaRoleProps) {
    super(scope, id);
    this.logGroup = new CloudwatchLogGroup(this, "logs", { name: `/aws/lambda/${props.functionName}`, retentionInDays: props.logRetentionDays, kmsKeyId: props.logKmsKeyArn });
    const assume = new DataAwsIamPolicyDocument(this, "assume", {
      statement: [{ actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }] }],
    });
    this.role = new IamRole(this, "role", { name: props.functionName, assumeRolePolicy: assume.json });
    const statements: DataAwsIamPolicyDocumentStatement[] = [
      { sid: "OwnLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [`${this.logGroup.arn}:*`] },
      ...(props.vpc ? [{ sid: "VpcNetworkInterfaces", actions: VPC_ENI_ACTIONS, resources: ["*"] }] : []),
      ...(props.tracing ? [{ sid: "XRayWrite", actions: XRAY_WRITE_ACTIONS, resources: ["*"] }] : []),
      ...(props.statements ?? []),
    ];
    const policy = new DataAwsIamPolicyDocument(this, "policy-doc", { statement: statements });
    this.policy = new IamRolePolicy(this, "policy", { name: props.functionName, role: this.role.id, policy: policy.json });
  }
}
