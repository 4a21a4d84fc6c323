/**
 * The auth service's own secrets, created empty: Terraform never sees a value, so none lands in
 * the synthesized JSON, the plan or the state. The operator puts the values once after the
 * first deploy (README, "Deploying"). The database password is not here: RDS manages it.
 *
 * Two secrets, split by who reads them: the auth secret (Better Auth's secret and the Google
 * client, read only by the auth function) and the proxy key (read by the auth function AND every
 * app's proxy, which must never be able to read the Better Auth secret).
 */
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret/index.js";
import { Construct } from "constructs";

export interface AuthSecretsProps {
  /** Prefix of the secret names: `<name>/auth` and `<name>/proxy`. */
  name: string;
  /** Days a deleted secret can still be restored. @default 30 */
  recoveryWindowDays?: number;
}

export class AuthSecrets extends Construct {
  /** JSON `{"secret":"…"}` (or versioned `{"secrets":[…]}`), optionally with `"google":{"clientId":"…","clientSecret":"…"}` */
  readonly authSecretArn: string;
  /** JSON `{"secret":"…"}`: the key app proxies sign forwarded headers with (functions/proxy) */
  readonly proxySecretArn: string;
  readonly authSecretName: string;
  readonly proxySecretName: string;

  constructor(scope: Construct, id: string, props: AuthSecretsProps) {
    super(scope, id);
    const recoveryWindowInDays = props.recoveryWindowDays ?? 30;
    const auth = new SecretsmanagerSecret(this, "auth", {
      name: `${props.name}/auth`,
      description: 'Better Auth secret and Google client: {"secret":"<openssl rand -base64 32>","google":{"clientId":"…","clientSecret":"…"}}',
      recoveryWindowInDays,
    });
    const proxy = new SecretsmanagerSecret(this, "proxy", {
      name: `${props.name}/proxy`,
      description: 'App proxy signing key, shared with every app proxy: {"secret":"<openssl rand -base64 32>"}',
      recoveryWindowInDays,
    });
    this.authSecretArn = auth.arn;
    this.authSecretName = auth.name;
    this.proxySecretArn = proxy.arn;
    this.proxySecretName = proxy.name;
  }
}
