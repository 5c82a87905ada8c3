/**
 * `npm run seed:admin`: creates the first admin from ADMIN_EMAIL / ADMIN_PASSWORD. Idempotent: an existing
 * user with that email is left as it is. Without ADMIN_PASSWORD a strong password is generated, printed
 * once and saved to .opsdesk/admin-password (mode 600).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as argon2 from 'argon2';
import { EventTypes, passwordProblems } from '@opsdesk/contracts';
import { findRepoRoot, loadEnvFile, loadRunningSystemEnv } from '@opsdesk/config';
import { runMigrations } from '@opsdesk/database';
import { OutboxWriter } from '@opsdesk/messaging';
import { authEnvShape } from './config/auth.config';
import { createDataSource } from './database/data-source';
import { loadConfigOrExit } from '@opsdesk/config';
import { User } from './users/user.entity';

export function generatePassword(): string {
  // 18 random bytes -> 24 base64url chars, plus fixed classes so the policy always holds
  return `${randomBytes(18).toString('base64url')}-Aa7`;
}

export interface SeedResult {
  created: boolean;
  email: string;
  generatedPassword?: string;
  /** where the generated password was saved (owner-only) */
  passwordFile?: string;
}

export async function seedAdmin(env: NodeJS.ProcessEnv = process.env): Promise<SeedResult> {
  // a command-line tool answers no RPC: it needs no caller-context key
  const { JWT_SECRET: _unused, GATEWAY_CONTEXT_PUBLIC_KEY: _gateway, ...shape } = { ...authEnvShape };
  const config = loadConfigOrExit(shape, env);
  const email = config.ADMIN_EMAIL.toLowerCase();
  const ds = createDataSource(config.DATABASE_URL);
  await ds.initialize();
  try {
    await runMigrations(ds);
    const existing = await ds.getRepository(User).createQueryBuilder('u').where('lower(u.email) = :email', { email }).getOne();
    if (existing) return { created: false, email };
    let password = config.ADMIN_PASSWORD;
    let generated: string | undefined;
    if (!password) {
      password = generatePassword();
      generated = password;
    } else {
      const problems = passwordProblems(password);
      if (problems.length) {
        process.stderr.write(`Invalid configuration: ADMIN_PASSWORD ${problems.join('; ')}\n`);
        process.exit(78);
      }
    }
    const hash = await argon2.hash(password, {
      type: argon2.argon2id,
      memoryCost: config.ARGON2_MEMORY_KIB,
      timeCost: config.ARGON2_TIME_COST,
      parallelism: config.ARGON2_PARALLELISM,
    });
    const outbox = new OutboxWriter({ schema: 'auth', source: 'auth', subjectPrefix: config.EVENTS_SUBJECT_PREFIX });
    await ds.transaction(async (m) => {
      const now = new Date();
      const user = m.create(User, { email, passwordHash: hash, role: 'admin', isActive: true, mfaEnabled: false, failedLogins: 0, createdAt: now, updatedAt: now, passwordChangedAt: now });
      await m.save(user);
      await outbox.add(m, {
        type: EventTypes.USER_CREATED,
        actor: { user_id: null, email: 'system:seed-admin', ip: null, user_agent: null },
        request_id: null,
        subject: { entity_type: 'user', entity_id: user.id },
        data: { user_id: user.id, email, role: 'admin', seeded: true },
      });
    });
    let passwordFile: string | undefined;
    if (generated) {
      // OPSDESK_STATE_DIR: where npm start keeps local state (.opsdesk in the repository by default)
      const dir = env.OPSDESK_STATE_DIR || join(findRepoRoot() ?? process.cwd(), '.opsdesk');
      mkdirSync(dir, { recursive: true });
      passwordFile = join(dir, 'admin-password');
      writeFileSync(passwordFile, `${generated}\n`, { mode: 0o600 });
    }
    return { created: true, email, generatedPassword: generated, passwordFile };
  } finally {
    await ds.destroy();
  }
}

if (require.main === module) {
  loadEnvFile();
  loadRunningSystemEnv();
  seedAdmin()
    .then((r) => {
      if (!r.created) process.stdout.write(`admin ${r.email} already exists; nothing changed\n`);
      else if (r.generatedPassword)
        process.stdout.write(`created admin ${r.email} with generated password: ${r.generatedPassword}\n(saved to ${relative(process.cwd(), r.passwordFile ?? '') || r.passwordFile}; change it after the first login)\n`);
      else process.stdout.write(`created admin ${r.email} (password from ADMIN_PASSWORD)\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`seed:admin failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
