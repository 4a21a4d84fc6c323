/**
 * Aurora PostgreSQL Serverless v2 that pauses at 0 ACU when idle: encrypted, private, its
 * master password created and rotated by RDS in Secrets Manager (never in Terraform state).
 *
 * Hardened for a service that connects as its own role: IAM database authentication on, TLS
 * required by the server (`rds.force_ssl`), PostgreSQL's log exported to CloudWatch with a
 * retention, a backup window, and a final snapshot whose name is unique to each cluster.
 *
 * Two security groups: the database's, which admits PostgreSQL only from a "clients" group this
 * construct also creates. Whatever should reach the database joins the clients group; that keeps
 * the database stack independent of the stacks that use it (no cross-stack SG cycle).
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group/index.js";
import { DbSubnetGroup } from "@cdktf/provider-aws/lib/db-subnet-group/index.js";
import { RdsClusterParameterGroup } from "@cdktf/provider-aws/lib/rds-cluster-parameter-group/index.js";
import { RdsCluster } from "@cdktf/provider-aws/lib/rds-cluster/index.js";
import { RdsClusterInstance } from "@cdktf/provider-aws/lib/rds-cluster-instance/index.js";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group/index.js";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js";
import { Construct } from "constructs";

export interface AuroraServerlessProps {
  /** Cluster identifier and resource name prefix. */
  name: string;
  vpcId: string;
  /** Private subnets in at least two AZs. */
  subnetIds: string[];
  /** Initial database. @default "authplane" */
  databaseName?: string;
  /**
   * Aurora PostgreSQL MAJOR version. RDS picks the current minor and its automatic minor
   * upgrades move it; the AWS provider keeps a configured prefix ("16") in state and reports
   * the running version as `engine_version_actual`, so no plan ever tries to downgrade a minor
   * RDS upgraded. (A full "16.6" pin is what makes Terraform plan that refused downgrade.)
   * Major upgrades stay explicit: `allow_major_version_upgrade` is false. Every current 16.x
   * minor supports pausing at 0 ACU (16.3+).
   * @default "16"
   */
  engineVersion?: string;
  /** ACUs when idle; 0 pauses the cluster. @default 0 */
  minCapacity?: number;
  /** @default 2 */
  maxCapacity?: number;
  /** Idle seconds before pausing (only with minCapacity 0). @default 300 */
  secondsUntilAutoPause?: number;
  /** @default 7 */
  backupRetentionDays?: number;
  /** @default true */
  deletionProtection?: boolean;
  /** Skip the snapshot on deletion. @default false */
  skipFinalSnapshot?: boolean;
  /** Master user name (its password is RDS-managed). @default "authplane" */
  masterUsername?: string;
  /** Daily backup window (UTC). @default "02:00-03:00" */
  backupWindow?: string;
  /** Weekly maintenance window (UTC), clear of the backup window. @default "sun:04:00-sun:05:00" */
  maintenanceWindow?: string;
  /** Retention of the exported PostgreSQL log. @default 30 */
  logRetentionDays?: number;
  /** KMS key ARN for the PostgreSQL log group. @default CloudWatch Logs' own encryption */
  logKmsKeyArn?: string;
}

export class AuroraServerless extends Construct {
  readonly clusterEndpoint: string;
  readonly port = 5432;
  readonly databaseName: string;
  /** RDS-managed secret `{"username","password"}`. */
  readonly masterUserSecretArn: string;
  readonly securityGroupId: string;
  /** Join this group to reach the database. */
  readonly clientSecurityGroupId: string;
  readonly clusterArn: string;
  readonly clusterIdentifier: string;
  /** `cluster-…`: what `rds-db:connect` ARNs name. */
  readonly clusterResourceId: string;
  readonly maxCapacity: number;
  readonly masterUsername: string;

  constructor(scope: Construct, id: string, props: AuroraServerlessProps) {
    super(scope, id);
    const {
      name,
      databaseName = "authplane",
      engineVersion = "16",
      minCapacity = 0,
      maxCapacity = 2,
      secondsUntilAutoPause = 300,
      backupRetentionDays = 7,
      deletionProtection = true,
      skipFinalSnapshot = false,
      masterUsername = "authplane",
      backupWindow = "02:00-03:00",
      maintenanceWindow = "sun:04:00-sun:05:00",
      logRetentionDays = 30,
    } = props;
    const major = engineVersion.split(".")[0];

    const clients = new SecurityGroup(this, "clients", {
      name: `${name}-db-clients`,
      description: `Members may connect to the ${name} database`,
      vpcId: props.vpcId,
    });
    const db = new SecurityGroup(this, "db", {
      name: `${name}-db`,
      description: `PostgreSQL for ${name}, from its clients group only`,
      vpcId: props.vpcId,
    });
    new VpcSecurityGroupIngressRule(this, "db-from-clients", {
      securityGroupId: db.id,
      referencedSecurityGroupId: clients.id,
      ipProtocol: "tcp",
      fromPort: this.port,
      toPort: this.port,
      description: "PostgreSQL from db clients",
    });
    // Membership grants exactly this much egress; anything else a client needs, it brings itself.
    new VpcSecurityGroupEgressRule(this, "clients-to-db", {
      securityGroupId: clients.id,
      referencedSecurityGroupId: db.id,
      ipProtocol: "tcp",
      fromPort: this.port,
      toPort: this.port,
      description: "PostgreSQL to the database",
    });

    const subnets = new DbSubnetGroup(this, "subnets", { name, subnetIds: props.subnetIds });
    const parameters = new RdsClusterParameterGroup(this, "parameters", {
      // A prefix, not a name: with create_before_destroy a replacement (a new family, a new
      // description) needs the new group to exist beside the old one.
      namePrefix: `${name}-pg${major}-`,
      family: `aurora-postgresql${major}`,
      description: `${name}: TLS required, connections logged`,
      parameter: [
        // The server refuses any connection without TLS, whatever a client asks for.
        { name: "rds.force_ssl", value: "1" },
        { name: "log_connections", value: "1" },
        { name: "log_disconnections", value: "1" },
      ],
      lifecycle: { createBeforeDestroy: true },
    });
    // RDS would create this group itself on first export, with no retention: create it first.
    const logs = new CloudwatchLogGroup(this, "postgresql-logs", {
      name: `/aws/rds/cluster/${name}/postgresql`,
      retentionInDays: logRetentionDays,
      kmsKeyId: props.logKmsKeyArn,
    });
    const cluster = new RdsCluster(this, "cluster", {
      clusterIdentifier: name,
      engine: "aurora-postgresql",
      engineMode: "provisioned",
      engineVersion,
      databaseName,
      masterUsername,
      manageMasterUserPassword: true,
      storageEncrypted: true,
      // The service signs in as its own role with a 15-minute IAM token: no password to rotate.
      iamDatabaseAuthenticationEnabled: true,
      allowMajorVersionUpgrade: false,
      dbClusterParameterGroupName: parameters.name,
      enabledCloudwatchLogsExports: ["postgresql"],
      preferredBackupWindow: backupWindow,
      preferredMaintenanceWindow: maintenanceWindow,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [db.id],
      port: this.port,
      serverlessv2ScalingConfiguration: {
        minCapacity,
        maxCapacity,
        ...(minCapacity === 0 ? { secondsUntilAutoPause } : {}),
      },
      backupRetentionPeriod: backupRetentionDays,
      copyTagsToSnapshot: true,
      deletionProtection,
      skipFinalSnapshot,
      // Unique per cluster: stamped when the cluster is created and then frozen
      // (ignore_changes), so a re-created cluster's destroy never collides with an earlier
      // snapshot and a plan never shows a diff for it. timestamp() alone would change every plan.
      finalSnapshotIdentifier: skipFinalSnapshot ? undefined : `${name}-final-\${formatdate("YYYYMMDDhhmmss", timestamp())}`,
      lifecycle: skipFinalSnapshot ? undefined : { ignoreChanges: ["final_snapshot_identifier"] },
      dependsOn: [logs],
    });
    new RdsClusterInstance(this, "instance", {
      identifier: `${name}-1`,
      clusterIdentifier: cluster.id,
      instanceClass: "db.serverless",
      engine: cluster.engine,
      // No engine_version: the instance follows the cluster, minor upgrades included.
      autoMinorVersionUpgrade: true,
      dbSubnetGroupName: subnets.name,
      publiclyAccessible: false,
    });

    this.clusterEndpoint = cluster.endpoint;
    this.databaseName = databaseName;
    this.masterUserSecretArn = cluster.masterUserSecret.get(0).secretArn;
    this.securityGroupId = db.id;
    this.clientSecurityGroupId = clients.id;
    this.clusterArn = cluster.arn;
    this.clusterIdentifier = cluster.clusterIdentifier;
    this.clusterResourceId = cluster.clusterResourceId;
    this.maxCapacity = maxCapacity;
    this.masterUsername = masterUsername;
  }
}
