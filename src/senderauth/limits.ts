// Limits of sender authentication, apart from the checks so that a reader of a limit (the DNS
// records check) does not load mailauth (~30 MiB) with it.

/** RFC 7208 §4.6.4: an SPF evaluation may be cut off after at least 20 seconds (then temperror). */
export const SPF_TIME_LIMIT_MS = 20_000;
