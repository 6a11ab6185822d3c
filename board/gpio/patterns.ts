// LED patterns as pure functions of time, so a ticker (or a test) can ask "on or off at t?".

export type Pattern = 'off' | 'steady' | 'blink' | 'fast-blink' | 'heartbeat';

/** Half-periods in ms. Blink 2 Hz reads as "busy"; fast blink 5 Hz reads as "look at me". */
const BLINK_HALF = 250;
const FAST_HALF = 100;
/** Heartbeat: two short pulses then a pause, like a pulse (lub-dub), every 1.2 s. */
const HEARTBEAT_PERIOD = 1200;
const HEARTBEAT_ON: readonly [number, number][] = [[0, 100], [250, 350]];

export function levelAt(pattern: Pattern, ms: number): 0 | 1 {
  switch (pattern) {
    case 'off':
      return 0;
    case 'steady':
      return 1;
    case 'blink':
      return Math.floor(ms / BLINK_HALF) % 2 === 0 ? 1 : 0;
    case 'fast-blink':
      return Math.floor(ms / FAST_HALF) % 2 === 0 ? 1 : 0;
    case 'heartbeat': {
      const phase = ((ms % HEARTBEAT_PERIOD) + HEARTBEAT_PERIOD) % HEARTBEAT_PERIOD;
      return HEARTBEAT_ON.some(([from, to]) => phase >= from && phase < to) ? 1 : 0;
    }
  }
}

/** Tick often enough to render the fastest pattern edge (fast blink, heartbeat pulses). */
export const TICK_MS = 50;
