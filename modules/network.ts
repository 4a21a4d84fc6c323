/**
 * A dual-stack VPC over several AZs whose private subnets reach the internet over IPv6 through
 * an egress-only internet gateway: outbound only, and free, where a NAT gateway would cost more
 * than everything else an idle environment runs. A NAT gateway is an opt-in for the rare
 * dependency that has no IPv6 endpoint; interface endpoints keep chosen AWS APIs inside the VPC.
 */
import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones/index.js";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region/index.js";
import { EgressOnlyInternetGateway } from "@cdktf/provider-aws/lib/egress-only-internet-gateway/index.js";
import { Eip } from "@cdktf/provider-aws/lib/eip/index.js";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway/index.js";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway/index.js";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table/index.js";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association/index.js";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group/index.js";
import { Subnet } from "@cdktf/provider-aws/lib/subnet/index.js";
import { Vpc } from "@cdktf/provider-aws/lib/vpc/index.js";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint/index.js";
import { Fn } from "cdktf";
import { Construct } from "constructs";

export interface NetworkProps {
  /** Prefix of resource names. */
  name: string;
  /** IPv4 range of the VPC. @default "10.0.0.0/16" */
  cidrBlock?: string;
  /** Availability zones to spread subnets over (Aurora needs two). @default 2 */
  azCount?: number;
  /** Add one NAT gateway (IPv4 egress for private subnets); costs money every hour. @default false */
  natGateway?: boolean;
  /** Interface endpoints to create, by service short name, e.g. ["secretsmanager"]. @default [] */
  interfaceEndpoints?: string[];
}

export class Network extends Construct {
  readonly vpcId: string;
  readonly publicSubnetIds: string[];
  readonly privateSubnetIds: string[];
  readonly ipv6CidrBlock: string;
  readonly vpc: Vpc;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { name, cidrBlock = "10.0.0.0/16", azCount = 2, natGateway = false, interfaceEndpoints = [] } = props;
    if (azCount < 2) throw new Error(`Network ${name}: azCount must be at least 2 (Aurora needs subnets in two AZs), got ${azCount}`);

    const azs = new DataAwsAvailabilityZones(this, "azs", { state: "available" });
    const vpc = new Vpc(this, "vpc", {
      cidrBlock,
      assignGeneratedIpv6CidrBlock: true,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: name },
    });
    const igw = new InternetGateway(this, "igw", { vpcId: vpc.id, tags: { Name: name } });
    const eigw = new EgressOnlyInternetGateway(this, "eigw", { vpcId: vpc.id, tags: { Name: name } });

    const subnet = (kind: "public" | "private", i: number, netnum: number) =>
      new Subnet(this, `${kind}-${i}`, {
        vpcId: vpc.id,
        availabilityZone: Fn.element(azs.names, i),
        cidrBlock: Fn.cidrsubnet(vpc.cidrBlock, 4, netnum),
        ipv6CidrBlock: Fn.cidrsubnet(vpc.ipv6CidrBlock, 8, netnum),
        assignIpv6AddressOnCreation: true,
        mapPublicIpOnLaunch: false,
        tags: { Name: `${name}-${kind}-${i}`, tier: kind },
      });
    const publicSubnets = Array.from({ length: azCount }, (_, i) => subnet("public", i, i));
    const privateSubnets = Array.from({ length: azCount }, (_, i) => subnet("private", i, i + 8));

    const publicRoutes = new RouteTable(this, "public-routes", {
      vpcId: vpc.id,
      route: [
        { cidrBlock: "0.0.0.0/0", gatewayId: igw.id },
        { ipv6CidrBlock: "::/0", gatewayId: igw.id },
      ],
      tags: { Name: `${name}-public` },
    });

    let natRoute: { cidrBlock: string; natGatewayId: string }[] = [];
    if (natGateway) {
      const eip = new Eip(this, "nat-ip", { domain: "vpc", tags: { Name: `${name}-nat` } });
      const nat = new NatGateway(this, "nat", { allocationId: eip.id, subnetId: publicSubnets[0]!.id, tags: { Name: name }, dependsOn: [igw] });
      natRoute = [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }];
    }
    const privateRoutes = new RouteTable(this, "private-routes", {
      vpcId: vpc.id,
      route: [{ ipv6CidrBlock: "::/0", egressOnlyGatewayId: eigw.id }, ...natRoute],
      tags: { Name: `${name}-private` },
    });

    publicSubnets.forEach((s, i) => new RouteTableAssociation(this, `public-assoc-${i}`, { subnetId: s.id, routeTableId: publicRoutes.id }));
    privateSubnets.forEach((s, i) => new RouteTableAssociation(this, `private-assoc-${i}`, { subnetId: s.id, routeTableId: privateRoutes.id }));

    if (interfaceEndpoints.length) {
      const region = new DataAwsRegion(this, "region");
      const endpointSg = new SecurityGroup(this, "endpoints-sg", {
        name: `${name}-endpoints`,
        description: "HTTPS from inside the VPC to interface endpoints",
        vpcId: vpc.id,
        ingress: [{ fromPort: 443, toPort: 443, protocol: "tcp", cidrBlocks: [vpc.cidrBlock], ipv6CidrBlocks: [vpc.ipv6CidrBlock], description: "HTTPS from the VPC" }],
      });
      for (const service of interfaceEndpoints) {
        new VpcEndpoint(this, `endpoint-${service}`, {
          vpcId: vpc.id,
          serviceName: `com.amazonaws.${region.name}.${service}`,
          vpcEndpointType: "Interface",
          privateDnsEnabled: true,
          subnetIds: privateSubnets.map((s) => s.id),
          securityGroupIds: [endpointSg.id],
          tags: { Name: `${name}-${service}` },
        });
      }
    }

    this.vpc = vpc;
    this.vpcId = vpc.id;
    this.ipv6CidrBlock = vpc.ipv6CidrBlock;
    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.privateSubnetIds = privateSubnets.map((s) => s.id);
  }
}
