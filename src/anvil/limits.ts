// The login brake's limits from the login.* settings (settings.ts).
import type { ConfigStore } from '../config/store.ts';
import type { LoginLimits } from './login-throttle.ts';

export function loginLimits(store: ConfigStore): LoginLimits {
  return {
    firstDelayMs: store.get('login.delayMs'),
    maxDelayMs: store.get('login.maxDelayMs'),
    pairFailures: store.get('login.pairFailures'),
    sourceFailures: store.get('login.sourceFailures'),
    windowMs: store.get('login.windowSeconds') * 1000,
    lockMs: store.get('login.lockSeconds') * 1000,
  };
}
