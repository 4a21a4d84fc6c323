/** A generated Supabase dump (COPY form) of n users: half with a Google identity, a tenth with a bcrypt password. */
import { createWriteStream } from "node:fs";

const HASH = "$2b$10$xF7HGKWioy4ySOVqDWFLn.lGKkYdR1W8y4WgAoBvAYiPOVqZUPmiS";

export async function writeSupabaseDump(file: string, users: number): Promise<void> {
  const out = createWriteStream(file);
  let buf = "";
  const write = async (s: string) => {
    buf += s;
    if (buf.length < 1 << 16) return;
    const ok = out.write(buf);
    buf = "";
    if (!ok) await new Promise<void>((r) => out.once("drain", () => r()));
  };
  await write("COPY auth.identities (id, user_id, provider, provider_id, identity_data, created_at) FROM stdin;\n");
  for (let i = 0; i < users; i += 2) await write(`i-${i}\tu-${i}\tgoogle\t${1e12 + i}\t{"sub": "${1e12 + i}"}\t2024-01-01 00:00:00+00\n`);
  await write("\\.\n\nCOPY auth.users (id, email, encrypted_password, email_confirmed_at, raw_user_meta_data, created_at, updated_at, deleted_at) FROM stdin;\n");
  for (let i = 0; i < users; i++) {
    const pw = i % 10 === 0 ? HASH : "";
    await write(`u-${i}\tUser${i}@Example.org\t${pw}\t2024-01-01 00:00:00+00\t{"full_name": "User ${i}"}\t2024-01-01 00:00:00+00\t2024-01-01 00:00:00+00\t\\N\n`);
  }
  await write("\\.\n");
  out.write(buf);
  await new Promise<void>((r) => out.end(r));
}
