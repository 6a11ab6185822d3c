// The nftables table Yubin owns, generated from configuration as one text applied with `nft -f`.
// Everything lives in its own table (inet yubin) so that starting, reloading and stopping never
// touch the rules of anyone else, and one `delete table` removes it all.
import { isIPv4 } from 'node:net';

export const TABLE = 'yubin';
export const FAMILY = 'inet';
export const BLOCKED_COUNTER = 'op25b_blocked';
export const SOURCE_SETS = { v4: 'op25b_src4', v6: 'op25b_src6' } as const;
export const BAN_SETS = { v4: 'banned4', v6: 'banned6' } as const;
export const LOG_PREFIX = 'yubin op25b: ';

export interface Op25bRules {
  lanInterface: string;
  /** Empty: every output interface other than the LAN one. */
  wanInterface: string;
  exemptHosts: readonly string[];
}

export interface RulesetInput {
  /** Absent: no OP25B chain (only the ban set). */
  op25b?: Op25bRules;
  /** TCP ports on which banned addresses are dropped. */
  banPorts: readonly number[];
  /** Bans to carry over a reload, with the seconds each still has to run. */
  bans?: readonly Ban[];
}

export interface Ban {
  address: string;
  seconds: number;
}

/** nft quotes interface names; the settings kind already refuses quotes, this is the last guard. */
function quoteIfname(name: string): string {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(name)) throw new Error(`bad interface name ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function elements(items: readonly string[]): string {
  return items.length > 0 ? ` elements = { ${items.join(', ')} };` : '';
}

function banElements(bans: readonly Ban[], v4: boolean): string {
  return elements(bans.filter((b) => isIPv4(b.address) === v4 && b.seconds > 0).map((b) => `${b.address} timeout ${Math.ceil(b.seconds)}s`));
}

/**
 * The whole table as one nft script. The leading `table` + `delete table` pair makes the script
 * replace an older copy in the same transaction: the kernel sees the old rules or the new, never none.
 */
export function buildRuleset(input: RulesetInput): string {
  const bans = input.bans ?? [];
  const ports = [...new Set(input.banPorts)].filter((p) => p > 0).sort((a, b) => a - b);
  const lines: string[] = [
    `table ${FAMILY} ${TABLE}`,
    `delete table ${FAMILY} ${TABLE}`,
    `table ${FAMILY} ${TABLE} {`,
    `  set ${BAN_SETS.v4} { type ipv4_addr; size 65536; flags timeout;${banElements(bans, true)} }`,
    `  set ${BAN_SETS.v6} { type ipv6_addr; size 65536; flags timeout;${banElements(bans, false)} }`,
  ];
  if (ports.length > 0) {
    const portSet = `{ ${ports.join(', ')} }`;
    lines.push(
      '  chain input {',
      '    type filter hook input priority filter; policy accept;',
      `    tcp dport ${portSet} ip saddr @${BAN_SETS.v4} drop`,
      `    tcp dport ${portSet} ip6 saddr @${BAN_SETS.v6} drop`,
      '  }',
    );
  }
  const op = input.op25b;
  if (op) {
    const v4 = op.exemptHosts.filter((h) => isIPv4(h.split('/')[0] ?? ''));
    const v6 = op.exemptHosts.filter((h) => !isIPv4(h.split('/')[0] ?? ''));
    const out = op.wanInterface === '' ? `oifname != ${quoteIfname(op.lanInterface)}` : `oifname ${quoteIfname(op.wanInterface)}`;
    lines.push(
      `  counter ${BLOCKED_COUNTER} { comment "LAN to WAN TCP/25 refused (OP25B)"; }`,
      // Per-source counters: the named counter cannot say who was blocked, this set can.
      `  set ${SOURCE_SETS.v4} { type ipv4_addr; size 4096; flags dynamic,timeout; timeout 1d; counter; }`,
      `  set ${SOURCE_SETS.v6} { type ipv6_addr; size 4096; flags dynamic,timeout; timeout 1d; counter; }`,
      `  set op25b_exempt4 { type ipv4_addr; flags interval;${elements(v4)} }`,
      `  set op25b_exempt6 { type ipv6_addr; flags interval;${elements(v6)} }`,
      // Forward hook only: the board's own MTA sends from the output hook and is never matched.
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      `    iifname ${quoteIfname(op.lanInterface)} ${out} tcp dport 25 jump op25b`,
      '  }',
      '  chain op25b {',
      '    ip saddr @op25b_exempt4 return',
      '    ip6 saddr @op25b_exempt6 return',
      `    update @${SOURCE_SETS.v4} { ip saddr }`,
      `    update @${SOURCE_SETS.v6} { ip6 saddr }`,
      // A log line per blocked SYN would let one infected PC flood the journal: 6 a minute at most.
      `    limit rate 6/minute burst 5 packets log prefix "${LOG_PREFIX}" level warn`,
      // A TCP reset makes the client fail at once instead of waiting for its connect timeout.
      `    counter name ${BLOCKED_COUNTER} reject with tcp reset`,
      '  }',
    );
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
