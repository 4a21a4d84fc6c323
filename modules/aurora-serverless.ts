/**
 * Aurora PostgreSQL Serverless v2 that pauses at 0 ACU when idle: encrypted, private, its
 * master password created and rotated by RDS in Secrets Manager (never in Terraform state).
 *
 * Two security groups: the database's, which admits PostgreSQL only from a "clients" group this
 * construct also creates. Whatever should reach the database joins the clients group; that keeps
 * the database stack independent of the stacks that use it (no cross-stack SG cycle).
 */
import { DbSubnetGroup } from "@cdktf/provider-aws/lib/db-subnet-group/index.js";
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
  /** Aurora PostgreSQL version; 0-ACU pause needs 13.15+, 14.12+, 15.7+ or 16.3+. @default "16.6" */
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

  constructor(scope: Construct, id: string, props: AuroraServerlessProps) {
    super(scope, id);
    const {
      name,
      databaseName = "authplane",
      engineVersion = "16.6",
      minCapacity = 0,
      maxCapacity = 2,
      secondsUntilAutoPause = 300,
      backupRetentionDays = 7,
      deletionProtection = true,
      skipFinalSnapshot = false,
      masterUsername = "authplane",
    } = props;

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
    const cluster = new RdsCluster(this, "cluster", {
      clusterIdentifier: name,
      engine: "aurora-postgresql",
      engineMode: "provisioned",
      engineVersion,
      databaseName,
      masterUsername,
      manageMasterUserPassword: true,
      storageEncrypted: true,
      iamDatabaseAuthenticationEnabled: false,
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
      finalSnapshotIdentifier: skipFinalSnapshot ? undefined : `${name}-final`,
    });
    new RdsClusterInstance(this, "instance", {
      identifier: `${name}-1`,
      clusterIdentifier: cluster.id,
      instanceClass: "db.serverless",
      engine: cluster.engine,
      engineVersion: cluster.engineVersion,
      dbSubnetGroupName: subnets.name,
      publiclyAccessible: false,
    });

    this.clusterEndpoint = cluster.endpoint;
    this.databaseName = databaseName;
    this.masterUserSecretArn = cluster.masterUserSecret.get(0).secretArn;
    this.securityGroupId = db.id;
    this.clientSecurityGroupId = clients.id;
    this.clusterArn = cluster.arn;
  }
}
