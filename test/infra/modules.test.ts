/** The constructs on their own: options the environment files do not exercise by default. */
import type { TerraformStack } from "cdktf";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AuroraServerless, AuthService, JwtAuthorizer, LambdaBundle, Network } from "../../modules/index.js";
import { resources as all, stubBundleDir, synthesizeConstruct as synth } from "./synthesized.js";

describe("Network", () => {
  it("routes private IPv6 through an egress-only gateway and has no NAT by default", () => {
    const json = synth((s) => new Network(s, "net", { name: "t" }));
    expect(all(json, "aws_nat_gateway")).toHaveLength(0);
    expect(all(json, "aws_egress_only_internet_gateway")).toHaveLength(1);
    const privateRoutes = all(json, "aws_route_table").find((t) => t.tags.Name === "t-private");
    expect(privateRoutes.route).toEqual([expect.objectContaining({ ipv6_cidr_block: "::/0", egress_only_gateway_id: expect.stringContaining("aws_egress_only_internet_gateway") })]);
    expect(all(json, "aws_subnet").every((s) => s.assign_ipv6_address_on_creation === true && s.map_public_ip_on_launch === false)).toBe(true);
  });

  it("adds one NAT gateway and interface endpoints only when asked", () => {
    const json = synth((s) => new Network(s, "net", { name: "t", natGateway: true, interfaceEndpoints: ["secretsmanager"] }));
    expect(all(json, "aws_nat_gateway")).toHaveLength(1);
    const privateRoutes = all(json, "aws_route_table").find((t) => t.tags.Name === "t-private");
    expect(privateRoutes.route).toContainEqual(expect.objectContaining({ cidr_block: "0.0.0.0/0", nat_gateway_id: expect.stringContaining("aws_nat_gateway") }));
    const [endpoint] = all(json, "aws_vpc_endpoint");
    expect(endpoint).toMatchObject({ vpc_endpoint_type: "Interface", private_dns_enabled: true });
  });

  it("refuses a single AZ, which Aurora cannot use", () => {
    expect(() => synth((s) => new Network(s, "net", { name: "t", azCount: 1 }))).toThrow(/at least 2/);
  });
});

describe("AuroraServerless", () => {
  it("keeps a final snapshot unless told otherwise, and sets auto-pause only at 0 ACU", () => {
    const paused = synth((s) => new AuroraServerless(s, "db", { name: "t", vpcId: "vpc-1", subnetIds: ["a", "b"] }));
    const [cluster] = all(paused, "aws_rds_cluster");
    expect(cluster).toMatchObject({ skip_final_snapshot: false, deletion_protection: true, lifecycle: { ignore_changes: ["final_snapshot_identifier"] } });
    // Stamped at creation, then frozen: each incarnation of the cluster leaves its own snapshot.
    expect(cluster.final_snapshot_identifier).toBe('t-final-${formatdate("YYYYMMDDhhmmss", timestamp())}');
    expect(cluster.serverlessv2_scaling_configuration).toMatchObject({ min_capacity: 0, seconds_until_auto_pause: 300 });
    const warm = synth((s) => new AuroraServerless(s, "db", { name: "t", vpcId: "vpc-1", subnetIds: ["a", "b"], minCapacity: 0.5 }));
    expect(all(warm, "aws_rds_cluster")[0].serverlessv2_scaling_configuration.seconds_until_auto_pause).toBeUndefined();
  });
});

describe("AuthService", () => {
  const bundleDir = stubBundleDir({ statusCode: 503 });
  const props = (stack: TerraformStack) => ({
    name: "t-auth",
    bundle: new LambdaBundle(stack, "bundle", { path: bundleDir }),
    vpcId: "vpc-1",
    subnetIds: ["a", "b"],
    securityGroupIds: ["sg-db-clients"],
    environment: { BETTER_AUTH_URL: "https://auth.example.org" },
    secretArns: ["arn:aws:secretsmanager:eu-west-1:111111111111:secret:t/auth-AbCdEf"],
  });

  it("creates certificate, validation records, domain mapping and alias only with a domain", () => {
    const plain = synth((s) => new AuthService(s, "svc", props(s)));
    for (const type of ["aws_acm_certificate", "aws_apigatewayv2_domain_name", "aws_apigatewayv2_api_mapping", "aws_route53_record"]) expect(all(plain, type)).toHaveLength(0);

    const custom = synth((s) => new AuthService(s, "svc", { ...props(s), domain: { name: "auth.example.org", hostedZoneId: "Z123" } }));
    expect(all(custom, "aws_acm_certificate")[0]).toMatchObject({ domain_name: "auth.example.org", validation_method: "DNS" });
    expect(all(custom, "aws_route53_record").map((r) => r.type ?? "for_each")).toContain("A");
    expect(all(custom, "aws_apigatewayv2_api_mapping")).toHaveLength(1);
  });

  it("runs arm64 Node 22 in the VPC with IPv6 egress and a throttled, logged $default stage", () => {
    const json = synth((s) => new AuthService(s, "svc", props(s)));
    const [fn] = all(json, "aws_lambda_function");
    expect(fn).toMatchObject({ runtime: "nodejs22.x", architectures: ["arm64"], handler: "index.handler" });
    expect(fn.vpc_config).toMatchObject({ ipv6_allowed_for_dual_stack: true, subnet_ids: ["a", "b"] });
    // No NAT: AWS APIs must be reached on their dual-stack (IPv6) endpoints.
    expect(fn.environment.variables.AWS_USE_DUALSTACK_ENDPOINT).toBe("true");
    expect(fn.environment.variables.NODE_EXTRA_CA_CERTS).toBe("/var/runtime/ca-cert.pem");
    const [stage] = all(json, "aws_apigatewayv2_stage");
    expect(stage).toMatchObject({ name: "$default", auto_deploy: true });
    expect(stage.default_route_settings).toMatchObject({ throttling_burst_limit: 100, throttling_rate_limit: 50 });
    expect(stage.access_log_settings.destination_arn).toContain("aws_cloudwatch_log_group");
    expect(all(json, "aws_apigatewayv2_route")[0].route_key).toBe("$default");
  });
});

describe("LambdaBundle", () => {
  it("names the missing build instead of zipping an empty directory", () => {
    const empty = mkdtempSync(join(tmpdir(), "authplane-empty-"));
    expect(() => synth((s) => new LambdaBundle(s, "b", { path: empty }))).toThrow(/no index\.mjs; build it first/);
  });
});

describe("JwtAuthorizer", () => {
  const bundleDir = stubBundleDir({ isAuthorized: false });

  it("publishes its ARNs in SSM, lets only the attaching API invoke it, and attaches with a decision cached per token, app and route", () => {
    const json = synth((s) => {
      const authz = new JwtAuthorizer(s, "authz", {
        name: "t-authz",
        bundle: new LambdaBundle(s, "bundle", { path: bundleDir }),
        jwksUrl: "https://auth.example.org/api/auth/jwks",
        issuer: "https://auth.example.org",
        audience: "apps",
        ssmPrefix: "/authplane/t/authorizer",
      });
      authz.attachToHttpApi(s, "attach", { api: { id: "api-1", executionArn: "arn:aws:execute-api:eu-west-1:123456789012:api-1" }, app: "hiring" });
    });
    expect(all(json, "aws_ssm_parameter").map((p) => p.name).sort()).toEqual(["/authplane/t/authorizer/arn", "/authplane/t/authorizer/invoke-arn"]);
    const [permission] = all(json, "aws_lambda_permission");
    expect(all(json, "aws_lambda_permission")).toHaveLength(1);
    expect(permission).toMatchObject({ principal: "apigateway.amazonaws.com", source_arn: expect.stringMatching(/^arn:aws:execute-api:eu-west-1:123456789012:api-1\/authorizers\/\$\{aws_apigatewayv2_authorizer\./) });
    expect(permission.source_account).toBeUndefined();
    expect(all(json, "aws_lambda_function")[0].environment.variables).toEqual({ JWKS_URL: "https://auth.example.org/api/auth/jwks", JWT_ISSUER: "https://auth.example.org", JWT_AUDIENCE: "apps" });
    expect(all(json, "aws_apigatewayv2_authorizer")[0]).toMatchObject({
      authorizer_type: "REQUEST",
      authorizer_payload_format_version: "2.0",
      enable_simple_responses: true,
      identity_sources: ["$request.header.Authorization", "$stageVariables.authplane_app", "$context.routeKey"],
      authorizer_result_ttl_in_seconds: 30,
    });
  });
});
