/**
 * Password verification that accepts both Better Auth's own scrypt hashes and the bcrypt hashes
 * users bring from Supabase (`$2a$`/`$2b$`/`$2y$`), so a migrated user signs in with the
 * password they already have. New and changed passwords are always hashed with scrypt.
 */
import { verifyPassword as verifyScrypt } from "better-auth/crypto";

const BCRYPT = /^\$2[aby]\$\d{2}\$/;

export async function verifyPassword({ hash, password }: { hash: string; password: string }): Promise<boolean> {
  if (BCRYPT.test(hash)) {
    // Loaded on demand: only migrated users pay for bcrypt, and only at sign-in.
    const { default: bcrypt } = await import("bcryptjs");
    return bcrypt.compare(password, hash);
  }
  return verifyScrypt({ hash, password });
}
