// The routing facts of this board as the config store holds them right now (role, local domains,
// users, aliases): what routeRecipient needs, for the SMTP listeners and for mail Yubin writes itself.
import type { Context } from '../context.ts';
import type { RouteSite } from './route.ts';

export function routeSiteOf(ctx: Pick<Context, 'store' | 'users'>): RouteSite {
  return {
    role: ctx.store.get('role'),
    localDomains: ctx.store.get('domains'),
    isUser: (name) => ctx.users.get(name) !== undefined,
    aliases: ctx.store.db.aliases,
    postmaster: ctx.store.get('postmaster'),
  };
}
