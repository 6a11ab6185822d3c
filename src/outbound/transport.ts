// The hook where a remote domain's MX list and TLS requirements are decided (MTA-STS, DANE and
// the per-domain settings plug in here), and how each session's TLS turned out goes back to it
// (TLS-RPT). The delivery agent asks once per group, before it connects anywhere.
import type { DeliveryResult } from '../qmgr/deliverer.ts';
import type { Exchanger } from './mx.ts';
import type { TlsMode } from './transaction.ts';

export interface TlsRequirement {
  mode: TlsMode;
  /** Validate the certificate (trusted roots, the MX name) and refuse the session when it fails. */
  verify: boolean;
  /** Validate it anyway and say how it went, but never refuse (MTA-STS testing, TLS-RPT). */
  observe?: boolean;
  /** Who asks for TLS, for the reply: "the MTA-STS policy of example.com (enforce)". */
  because?: string;
}

/** How one session went, as far as TLS is concerned. */
export interface SessionTls {
  exchanger: string;
  address: string;
  /** The session reached a server's reply to the transaction (delivered or refused there). */
  answered: boolean;
  /** STARTTLS (or implicit TLS) was established. */
  secure: boolean;
  /** The certificate validated for the exchanger's name (when asked to verify or observe). */
  authorized?: boolean;
  /** Why it did not: Node's verification error, or the failed step. */
  error?: string;
  /** The server offered no STARTTLS. */
  noStarttls?: boolean;
}

export type TransportDecision =
  | { kind: 'go'; exchangers: Exchanger[]; tls: TlsRequirement; sessionDone?: (s: SessionTls) => void }
  | { kind: 'fail'; result: DeliveryResult };

export interface TransportPolicy {
  /** `base` is what the settings alone say (outbound.tlsRequiredDomains). */
  decide(domain: string, exchangers: Exchanger[], base: TlsRequirement): Promise<TransportDecision>;
}
