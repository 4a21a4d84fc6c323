/**
 * The price table `make cost` reads: AWS on-demand list prices in USD, per region, as of
 * `PRICES_AS_OF`. Copied by hand from the public AWS pricing pages (no pricing API is called:
 * the report must be reproducible offline and reviewable in a diff). Re-check the pages and bump
 * the date when AWS changes a price; the test pins the calculator to this table, not to AWS.
 */

export const PRICES_AS_OF = "2026-12-01";

export interface RegionPrices {
  /** Lambda, arm64, per GB-second. */
  lambdaArmGbSecond: number;
  /** Lambda, x86_64, per GB-second. */
  lambdaX86GbSecond: number;
  /** Lambda, per million requests. */
  lambdaPerMillionRequests: number;
  /** API Gateway HTTP API, per million requests (first 300 million). */
  httpApiPerMillion: number;
  /** Secrets Manager, per secret per month. */
  secretMonth: number;
  /** KMS customer managed key, per key per month. */
  kmsKeyMonth: number;
  /** CloudWatch standard-resolution alarm, per alarm metric per month. */
  alarmMonth: number;
  /** CloudWatch dashboard, per dashboard per month. */
  dashboardMonth: number;
  /** CloudWatch custom metric (EMF), per metric per month (first 10,000). */
  customMetricMonth: number;
  /** CloudWatch Logs ingestion (standard class), per GB. */
  logsIngestGb: number;
  /** Aurora Serverless v2 (Aurora Standard), per ACU-hour. */
  auroraAcuHour: number;
  /** Aurora Standard storage, per GB-month. */
  auroraStorageGbMonth: number;
  /** Aurora Standard I/O, per million requests. */
  auroraIoPerMillion: number;
  /** NAT gateway, per hour. */
  natGatewayHour: number;
  /** Public IPv4 address (the NAT gateway's Elastic IP), per hour. */
  publicIpv4Hour: number;
  /** Interface VPC endpoint, per AZ per hour. */
  interfaceEndpointAzHour: number;
  /** Route 53 hosted zone, per month (first 25). */
  hostedZoneMonth: number;
  /** Data transfer out to the internet, per GB (first 10 TB). */
  dataOutGb: number;
  /** X-Ray traces recorded, per million. */
  xrayPerMillionTraces: number;
}

export const PRICES: Readonly<Record<string, RegionPrices>> = {
  "us-east-1": {
    lambdaArmGbSecond: 0.0000133334,
    lambdaX86GbSecond: 0.0000166667,
    lambdaPerMillionRequests: 0.2,
    httpApiPerMillion: 1.0,
    secretMonth: 0.4,
    kmsKeyMonth: 1.0,
    alarmMonth: 0.1,
    dashboardMonth: 3.0,
    customMetricMonth: 0.3,
    logsIngestGb: 0.5,
    auroraAcuHour: 0.12,
    auroraStorageGbMonth: 0.1,
    auroraIoPerMillion: 0.2,
    natGatewayHour: 0.045,
    publicIpv4Hour: 0.005,
    interfaceEndpointAzHour: 0.01,
    hostedZoneMonth: 0.5,
    dataOutGb: 0.09,
    xrayPerMillionTraces: 5.0,
  },
  "eu-west-1": {
    lambdaArmGbSecond: 0.0000133334,
    lambdaX86GbSecond: 0.0000166667,
    lambdaPerMillionRequests: 0.2,
    httpApiPerMillion: 1.11,
    secretMonth: 0.4,
    kmsKeyMonth: 1.0,
    alarmMonth: 0.1,
    dashboardMonth: 3.0,
    customMetricMonth: 0.3,
    logsIngestGb: 0.57,
    auroraAcuHour: 0.13,
    auroraStorageGbMonth: 0.11,
    auroraIoPerMillion: 0.22,
    natGatewayHour: 0.048,
    publicIpv4Hour: 0.005,
    interfaceEndpointAzHour: 0.011,
    hostedZoneMonth: 0.5,
    dataOutGb: 0.09,
    xrayPerMillionTraces: 5.0,
  },
};

/**
 * CloudWatch's always-free allowances, per account (not the 12-month trial). Each authplane
 * environment is its own account; in an AWS Organization the allowance is shared by all member
 * accounts, so pass --no-free-tier there.
 */
export const ALWAYS_FREE = { alarms: 10, dashboards: 3, customMetrics: 10 } as const;

/**
 * What one sign-in or token request costs in usage, measured nowhere but estimated from the
 * service's shape; change them here and every figure follows.
 */
export const REQUEST_ASSUMPTIONS = {
  /** Billed duration of one auth function invocation on a warm instance (Better Auth + 2-4 queries). */
  authDurationMs: 120,
  /** Aurora ACU-seconds one request adds while the cluster is awake. */
  auroraAcuSecondsPerRequest: 0.1,
  /** Aurora I/O requests per request (reads mostly hit the buffer cache). */
  auroraIosPerRequest: 5,
  /** Log bytes per request: the function's JSON lines, EMF lines and the API access log. */
  logBytesPerRequest: 1500,
  /** Response bytes per request (JSON, a JWT, or a redirect). */
  responseBytes: 2000,
  /** An idle cluster's storage: the empty database, catalogs and WAL. */
  idleAuroraStorageGb: 1,
  /** Months of 730 hours. */
  hoursPerMonth: 730,
} as const;

/** Custom metrics the functions emit once traffic flows (functions/emf.ts, modules/monitoring.ts). */
export const CUSTOM_METRIC_SERIES = {
  /** SignIns × method (email, passkey, google, native), TokensMinted, DatabaseErrors. */
  auth: 6,
  /** Denies × the deny codes seen in a typical month (8), Denies × Class (fault, client), Allows. */
  authorizer: 11,
} as const;
