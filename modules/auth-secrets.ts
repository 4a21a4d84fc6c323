/**
 * The auth service's own secrets, created empty: Terraform never sees a value, so none lands in
 * the synthesized JSON, the plan or the state. The operator puts the values once after the
 * first deploy (README, "Deploying"). The database password is not here: RDS manages it.
 */
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret/index.js";
import { Construct } from "constructs";

export interface AuthSecretsProps {
  /** Prefix of the secret names: `<name>/auth`, `<name>/google-oauth` and `<name>/proxy`. */
  name: string;
  /** Days a deleted secret can still be restored. @default 30 */
  recoveryWindowDays?: number;
}

export class AuthSecrets extends Construct {
  /** JSON `{"secret":"…"}` (or versioned `{"secrets":[…]}`) */
  readonly authSecretArn: string;
  /** JSON `{"clientId":"…","clientSecret":"…"}` */
  readonly googleOAuthSecretArn: string;
  /** JSON `{"secret":"…"}`: the key app proxies sign forwarded headers with (functions/proxy) */
  readonly proxySecretArn: string;
  readonly authSecretName: string;
  readonly googleOAuthSecretName: string;
  readonly proxySecretName: string;

  constructor(scope: Construct, id: string, props: AuthSecretsProps) {
    super(scope, id);
    const recoveryWindowInDays = props.recoveryWindowDays ?? 30;
    const auth = new SecretsmanagerSecret(this, "auth", {
      name: `${props.name}/auth`,
      description: 'Better Auth secret: {"secret":"<openssl rand -base64 32>"}',
      recoveryWindowInDays,
    });
    const google = new SecretsmanagerSecret(this, "google-oauth", {
      name: `${props.name}/google-oauth`,
      description: 'Google OAuth client: {"clientId":"…","clientSecret":"…"}',
      recoveryWindowInDays,
    });
    const proxy = new SecretsmanagerSecret(this, "proxy", {
      name: `${props.name}/proxy`,
      description: 'App proxy signing key, shared with every app proxy: {"secret":"<openssl rand -base64 32>"}',
      recoveryWindowInDays,
    });
    this.authSecretArn = auth.arn;
    this.googleOAuthSecretArn = google.arn;
    this.authSecretName = auth.name;
    this.googleOAuthSecretName = google.name;
    this.proxySecretArn = proxy.arn;
    this.proxySecretName = proxy.name;
  }
}
