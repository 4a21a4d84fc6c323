import type { BetterAuthPluginDBSchema } from "@better-auth/core/db";

/**
 * One-time codes handed to native apps after an in-app-browser sign-in. Only the SHA-256 of a
 * code is stored; a leaked table row cannot be exchanged. Rows outlive their 60 s validity by
 * an hour so a late replay is reported as a replay, not as an unknown code.
 */
export const nativeSchema = {
  nativeAuthCode: {
    fields: {
      codeHash: { type: "string", required: true, unique: true },
      userId: {
        type: "string",
        required: true,
        references: { model: "user", field: "id", onDelete: "cascade" },
        index: true,
      },
      redirectUri: { type: "string", required: true },
      codeChallenge: { type: "string", required: true },
      expiresAt: { type: "date", required: true },
      /** Set atomically by the one exchange that wins; a second exchange finds it set. */
      consumedAt: { type: "date", required: false },
      /** The session the exchange minted: revoked when someone replays the code. */
      sessionToken: { type: "string", required: false },
      createdAt: { type: "date", required: true },
    },
  },
} satisfies BetterAuthPluginDBSchema;

export interface NativeAuthCode {
  id: string;
  codeHash: string;
  userId: string;
  redirectUri: string;
  codeChallenge: string;
  expiresAt: Date;
  consumedAt: Date | null;
  sessionToken: string | null;
  createdAt: Date;
}
