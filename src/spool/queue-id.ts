// Queue IDs: sortable by time, unique without coordination, safe as file names and in headers.
import { randomHex } from '../files/random-hex.ts';

export function newQueueId(now = Date.now()): string {
  return now.toString(36).toUpperCase().padStart(9, '0') + randomHex(5).toUpperCase();
}

export function isQueueId(text: string): boolean {
  return /^[0-9A-Z]{9}[0-9A-F]{10}$/.test(text);
}
