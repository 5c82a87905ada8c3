import { spawn, type ChildProcess } from 'node:child_process';
import type { Figure } from './stats';

export interface ScenarioContext {
  rounds: number;
  quick: boolean;
  cpuProfDir?: string;
  log(line: string): void;
}

/** One line of the summary table: the system's figure next to its baseline measured in the same rounds. */
export interface Row {
  figure: string;
  unit: string;
  system: Figure;
  baseline?: Figure;
  baseline_label?: string;
  /** system/baseline per round (or what the row defines), median over rounds */
  ratio?: Figure;
  ratio_label?: string;
  goal?: string;
}

export interface ScenarioResult {
  rows: Row[];
  /** everything else worth keeping (per-round raw summaries, scale) */
  detail: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  summary: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

/** Spawns a helper process that prints "ready" once it listens. */
export function spawnReady(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [file, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const t = setTimeout(() => reject(new Error(`${file} not ready`)), 30_000);
    p.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve(p);
      }
    });
    p.on('exit', (code) => reject(new Error(`${file} exited ${code}`)));
  });
}

export function stopChild(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
    setTimeout(() => p.kill('SIGKILL'), 5000).unref();
  });
}
