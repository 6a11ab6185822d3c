// The console admin password: one scrypt hash in the config store (console.passwordHash).
import { hashPassword, verifyPassword, dummyHash } from '../../src/accounts/passwords.ts';
import { ConfigError } from '../../src/config/store.ts';
import type { Context } from '../../src/context.ts';
import { commitSettings } from '../commands/config.ts';

export const MIN_ADMIN_PASSWORD = 8;

export function hasAdminPassword(ctx: Context): boolean {
  return ctx.store.get('console.passwordHash') !== '';
}

/** The admin password's rules: throws a ConfigError naming what is wrong. */
export function adminPasswordRules(password: string): void {
  if (password.length < MIN_ADMIN_PASSWORD) throw new ConfigError('password', `too short: use at least ${MIN_ADMIN_PASSWORD} characters`);
}

export async function setAdminPassword(ctx: Context, password: string): Promise<void> {
  adminPasswordRules(password);
  await commitSettings(ctx, { 'console.passwordHash': await hashPassword(password) });
}

export async function checkAdminPassword(ctx: Context, password: string): Promise<boolean> {
  const stored = ctx.store.get('console.passwordHash');
  // Same work whether or not a hash is set, so timing tells nothing.
  const ok = await verifyPassword(password, stored || (await dummyHash()));
  return ok && stored !== '';
}
