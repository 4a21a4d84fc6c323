/**
 * A Lambda deployment package from a directory holding `index.mjs` (an esbuild output of
 * functions/build.ts). cdktf zips it at synth as a TerraformAsset, so no archive provider and
 * no build step inside Terraform.
 */
import type { LambdaFunctionConfig } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { AssetType, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface LambdaBundleProps {
  /** Directory holding the bundle's `index.mjs` (handler `index.handler`). */
  path: string;
}

export class LambdaBundle extends Construct {
  /** Zip path for `aws_lambda_function.filename`. */
  readonly path: string;
  /** Content hash for `source_code_hash`, so a changed bundle redeploys and an unchanged one does not. */
  readonly hash: string;
  /** Handler string for this bundle. */
  readonly handler = "index.handler";

  constructor(scope: Construct, id: string, props: LambdaBundleProps) {
    super(scope, id);
    if (!existsSync(join(props.path, "index.mjs"))) {
      throw new Error(`LambdaBundle ${id}: ${props.path} has no index.mjs; build it first (npm run build)`);
    }
    const asset = new TerraformAsset(this, "asset", { path: props.path, type: AssetType.ARCHIVE });
    this.path = asset.path;
    this.hash = asset.assetHash;
  }

  /**
   * The function arguments this bundle decides, for every function built from one: esbuild
   * targets Node 22 (functions/build.ts), and plain JavaScript runs on arm64, the cheaper one.
   */
  get code(): Required<Pick<LambdaFunctionConfig, "runtime" | "architectures" | "handler" | "filename" | "sourceCodeHash">> {
    return { runtime: "nodejs22.x", architectures: ["arm64"], handler: this.handler, filename: this.path, sourceCodeHash: this.hash };
  }
}
