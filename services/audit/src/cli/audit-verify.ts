/**
 * Offline verifier of an audit JSONL export:
 *   npm run audit:verify -- <export.jsonl> --public-key <keys.json | key.pem | URL> [--json]
 * No database: it recomputes every record hash (docs/audit.md, "Canonical form"), checks the prev_hash links,
 * the seq sequence and the head of the header, and the Ed25519 checkpoint signatures with the public key(s)
 * only (the body of GET /api/audit/public-key, saved to a file or fetched from its URL; --public-key may be
 * repeated). A full export must end on a checkpoint signed with one of those keys: every record is then
 * vouched for by a signature nobody without the audit service's private key can make. `--no-signatures`
 * checks the hashes alone (which anyone editing the file can recompute).
 * Exit status: 0 verified, 1 tampering or damage found (the first bad seq is named), 2 usage or I/O error.
 */
import type { KeyObject } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ChainedRecord } from '../chain/canonical';
import { checkpointKeyId, parsePublicKeyDocument } from '../chain/checkpoint-keys';
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
export async function verifyExportFile(file: string, opts: { publicKeys?: KeyObject[] | null } = {}): Promise<FileVerifyResult> {
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
  const verifier = new ChainVerifier({
    publicKeys: opts.publicKeys ?? null,
    checkpoints,
    contiguous: !filtered,
    toHead: !filtered,
    // a full export ends on a signed checkpoint of its head (the service signs it when exporting)
    requireSignedHead: !filtered,
  });
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

function argValues(argv: string[], name: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === name && argv[i + 1] !== undefined) out.push(argv[i + 1]);
    else if (a.startsWith(`${name}=`)) out.push(a.slice(name.length + 1));
  });
  return out;
}

/** A --public-key value: a file, or an http(s) URL (e.g. https://opsdesk.example.com/api/audit/public-key). */
async function loadPublicKeys(source: string): Promise<KeyObject[]> {
  let text: string;
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`${source}: HTTP ${res.status}`);
    text = await res.text();
  } else {
    text = readFileSync(source, 'utf8');
  }
  try {
    return parsePublicKeyDocument(text);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
}

const USAGE =
  'usage: audit-verify <export.jsonl> --public-key <file | URL of GET /api/audit/public-key> [--public-key …] [--json]\n' +
  '       audit-verify <export.jsonl> --no-signatures [--json]   (hashes only: proves nothing against someone who can rewrite the file)';

/** The CLI proper, callable in-process by tests. Returns the exit status. */
export async function runCli(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const valued = new Set(['--public-key']);
  const file = argv.find((a, i) => !a.startsWith('--') && !valued.has(argv[i - 1] ?? ''));
  const sources = argValues(argv, '--public-key');
  const noSignatures = argv.includes('--no-signatures');
  if (!file || argv.includes('--help') || (sources.length === 0 && !noSignatures)) {
    out(USAGE);
    return 2;
  }
  let publicKeys: KeyObject[] | null = null;
  let result: FileVerifyResult;
  try {
    if (!noSignatures) publicKeys = (await Promise.all(sources.map(loadPublicKeys))).flat();
    result = await verifyExportFile(file, { publicKeys });
  } catch (err) {
    out(`audit-verify: ${(err as Error).message}`);
    return 2;
  }
  if (argv.includes('--json')) {
    out(JSON.stringify(result));
  } else {
    const keys = publicKeys ? `checked with key${publicKeys.length > 1 ? 's' : ''} ${publicKeys.map(checkpointKeyId).join(', ')}` : 'NOT checked (--no-signatures)';
    out(`${result.file}: ${result.checked} records, head ${result.head_seq ?? '?'}, ${result.checkpoints_checked} checkpoints (signatures ${keys})`);
    if (publicKeys && !result.filtered) out(`  ${result.checkpoints_trusted} checkpoints validly signed; records up to seq ${result.attested_seq} are vouched for by a signature`);
    if (result.filtered) out('  filtered export: each record is checked against its own hash; only a full export is vouched for by the signatures');
    if (result.checkpoints_legacy > 0) out(`  ${result.checkpoints_legacy} legacy HMAC checkpoints (before Ed25519): not trusted`);
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
