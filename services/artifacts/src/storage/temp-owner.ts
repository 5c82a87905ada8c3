import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who wrote a temp upload. Every temp name starts with its writer, `<instance>~<pid>~<boot>~<uuid>`:
 *   instance  ARTIFACT_INSTANCE_ID (default: the host name), unique per replica;
 *   pid       the writing process;
 *   boot      random per service start (several starts can share one process in tests, or one pid across
 *             container restarts, where the new process is pid 1 again).
 * With it a replica can tell its own leftovers (a crash of this replica: removed at once) from another
 * replica's uploads in progress (kept until older than the grace period; their owner keeps them fresh).
 */
export interface TempOwner {
  instance: string;
  pid: number;
  boot: string;
}

const INSTANCE_RE = /^[A-Za-z0-9._-]{1,64}$/;
const NAME_RE = /^([A-Za-z0-9._-]{1,64})~(\d{1,10})~([0-9a-f]{8,32})~[0-9a-f-]{36}(?:\.part)?$/;

/** The host name reduced to characters that are safe in a file name and an S3 key. */
export function defaultInstanceId(): string {
  const h = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  return INSTANCE_RE.test(h) ? h : 'artifacts';
}

export function newBootId(): string {
  return randomBytes(8).toString('hex');
}

export function tempPrefix(owner: TempOwner): string {
  return `${owner.instance}~${owner.pid}~${owner.boot}~`;
}

/** The writer named in a temp name; null for names this scheme did not write (older versions, strangers). */
export function parseTempOwner(name: string): TempOwner | null {
  const m = NAME_RE.exec(name);
  return m ? { instance: m[1], pid: Number(m[2]), boot: m[3] } : null;
}

/** Starts of the service alive in this process (more than one only in tests that boot replicas in-process). */
export const liveBoots = new Set<string>();

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface TempFacts {
  name: string;
  /** since its last write or heartbeat (fs), since it was completed (S3 object) */
  ageMs: number;
}

/**
 * Whether a sweep may remove a temp upload that is not one of this start's uploads in progress.
 * - Written by this instance: its writer is known. This start's own (not in progress) or a dead start's →
 *   remove now; a live process's (another start in this process, or another process here) → by age only.
 * - Written by another instance (or an unknown writer): its writer may be alive on another machine → only
 *   once older than the grace period (a live writer refreshes its temps far more often).
 */
export function mayRemoveTemp(t: TempFacts, self: TempOwner, graceMs: number, alive: (pid: number) => boolean = pidAlive, boots: ReadonlySet<string> = liveBoots): boolean {
  const aged = t.ageMs > graceMs;
  const owner = parseTempOwner(t.name);
  if (!owner || owner.instance !== self.instance) return aged;
  if (owner.pid === self.pid) {
    if (owner.boot === self.boot) return true;
    return boots.has(owner.boot) ? aged : true;
  }
  return alive(owner.pid) ? aged : true;
}
