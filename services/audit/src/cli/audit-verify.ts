/**
 * Offline verifier of an audit JSONL export: `npm run audit:verify -- <export.jsonl> [--key <secret>] [--json]`.
 * No database, no network: it recomputes every record hash (docs/audit.md, "Canonical form"), checks the
 * prev_hash links, the seq sequence and the head of the header, and with the signing key the checkpoint
 * signatures. Key: --key, else AUDIT_SIGNING_KEY, else (development) derived from --jwt-secret / JWT_SECRET.
 * Exit status: 0 verified, 1 tampering or damage found (the first bad seq is named), 2 usage or I/O error.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { resolveSigningKey, type ChainedRecord } from '../chain/canonical';
import { ChainVerifier, type VerifierCheckpoint, type VerifierOutcome } from '../chain/chain-verifier';

export interface ExportHeader {
  kind: 'header';
  format: string;
  filtered: boolean;
  head_seq: number;
  head_hash: string;
  key_id?: string;
}

export interface FileVerifyResult extends VerifierOutcome {
  file: string;
  filtered: boolean;
  head_seq: number | null;
}

async function* lines(file: string): AsyncGenerator<{ n: number; text: string }> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) {
    n++;
    if (text.trim() !== '') yield { n, text };
  }
}

function seqHint(text: string): number | null {
  const m = /"seq"\s*:\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

/** Verifies an export file in two streaming passes (checkpoints first, then records): memory stays flat. */
export async function verifyExportFile(file: string, opts: { key?: Buffer | null } = {}): Promise<FileVerifyResult> {
  let header: ExportHeader | null = null;
  const checkpoints: VerifierCheckpoint[] = [];
  const early: string[] = [];
  let firstUnparseable: number | null = null;
  for await (const { n, text } of lines(file)) {
    let obj: { kind?: string };
    try {
      obj = JSON.parse(text) as { kind?: string };
    } catch {
      early.push(`line ${n}: not valid JSON`);
      const s = seqHint(text);
      if (s !== null && (firstUnparseable === null || s < firstUnparseable)) firstUnparseable = s;
      continue;
    }
    if (obj.kind === 'header') header = obj as ExportHeader;
    else if (obj.kind === 'checkpoint') checkpoints.push(obj as VerifierCheckpoint);
  }
  if (!header) throw new Error(`${file}: no header line; is this an OpsDesk audit JSONL export?`);
  const filtered = header.filtered === true;
  const verifier = new ChainVerifier({ key: opts.key ?? null, checkpoints, contiguous: !filtered, toHead: !filtered });
  for await (const { text } of lines(file)) {
    let obj: { kind?: string };
    try {
      obj = JSON.parse(text) as { kind?: string };
    } catch {
      continue; // reported above
    }
    if (obj.kind !== 'record') continue;
    const { kind: _kind, ...record } = obj as ChainedRecord & { kind: string };
    verifier.add(record);
  }
  const outcome = verifier.finish(filtered ? undefined : { seq: header.head_seq, hash: header.head_hash });
  const result: FileVerifyResult = { ...outcome, file, filtered, head_seq: header.head_seq ?? null };
  if (early.length) {
    result.ok = false;
    result.problems = [...early, ...result.problems];
    if (firstUnparseable !== null && (result.first_bad_seq === undefined || firstUnparseable < result.first_bad_seq)) result.first_bad_seq = firstUnparseable;
  }
  return result;
}

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`${name}=`));
  return eq ? eq.slice(name.length + 1) : undefined;
}

/** The CLI proper, callable in-process by tests. Returns the exit status. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const valued = new Set(['--key', '--jwt-secret']);
  const file = argv.find((a, i) => !a.startsWith('--') && !valued.has(argv[i - 1] ?? ''));
  if (!file || argv.includes('--help')) {
    out('usage: audit-verify <export.jsonl> [--key <AUDIT_SIGNING_KEY>] [--jwt-secret <JWT_SECRET>] [--no-signatures] [--json]');
    return 2;
  }
  const key = argv.includes('--no-signatures')
    ? null
    : resolveSigningKey(argValue(argv, '--key') ?? env.AUDIT_SIGNING_KEY ?? undefined, argValue(argv, '--jwt-secret') ?? env.JWT_SECRET ?? undefined);
  let result: FileVerifyResult;
  try {
    result = await verifyExportFile(file, { key });
  } catch (err) {
    out(`audit-verify: ${(err as Error).message}`);
    return 2;
  }
  if (argv.includes('--json')) {
    out(JSON.stringify(result));
  } else {
    out(`${result.file}: ${result.checked} records, head ${result.head_seq ?? '?'}, ${result.checkpoints_checked} checkpoints (signatures ${result.signatures_checked ? 'checked' : 'NOT checked: no key'})`);
    for (const p of result.problems) out(`  ${p}`);
    out(result.ok ? 'OK: the chain is intact' : `FAILED: first bad seq ${result.first_bad_seq ?? '(unknown)'}`);
  }
  return result.ok ? 0 : 1;
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`audit-verify: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
