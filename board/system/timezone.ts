// The time zone of the process: Node reads TZ again whenever it is assigned, so a change applies at once.
export function applyTimeZone(zone: string): void {
  if (process.env.TZ !== zone) process.env.TZ = zone;
}
