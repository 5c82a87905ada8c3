/**
 * Access command templates (the original OpsDesk's `ssh_template`): an admin writes the command people paste,
 * e.g. `ssh -i ~/.ssh/ops -p {{port}} {{user}}@{{host}}`, globally (settings) or for one host.
 *
 * A template is a restricted shell command line. It is parsed here into words, and anything a shell would
 * expand, substitute, redirect, chain or glob outside quotes is refused, so the only things that vary between
 * two renderings are the placeholder values — and those are always substituted as part of one single-quoted
 * word (services/inventory access-template renderer). What is refused, and why:
 *   - `;` `|` `&` `<` `>` `(` `)` outside quotes: command lists, pipes, background jobs, redirections, subshells;
 *   - `$` and backquotes anywhere except inside single quotes: parameter expansion and command substitution
 *     (inside double quotes the shell still performs them);
 *   - `\` outside single quotes, `*` `?` `[` `]` `~` `#` `!` `{` `}` outside quotes: escapes, globbing, tilde and
 *     brace expansion, comments, history expansion (bash) — except `{{name}}` placeholders;
 *   - control characters and new lines anywhere: the command is one line;
 *   - a first word that is not a plain program name (`eval`, `.`, `source`, `exec`, reserved words, assignments):
 *     those make the shell itself re-read the words.
 * Pure (no Nest, no I/O): the API validates with it, the renderer parses with it, the console may preview with it.
 */

export const ACCESS_TEMPLATE_MAX_LENGTH = 500;

/**
 * Placeholders and what they stand for:
 *   user — the login (request `user`, else the host's ssh_user); host — the host's IP (the SSH target);
 *   hostname — the host name; port — ssh_port; bastion — bastion_host; bastion_port — bastion_port;
 *   jump — ssh -J's `user@bastion:port` (an IPv6 bastion bracketed); proxy / cluster — the Teleport proxy and
 *   cluster from the integration settings.
 */
export const AccessTemplatePlaceholders = ['user', 'host', 'hostname', 'port', 'bastion', 'bastion_port', 'jump', 'proxy', 'cluster'] as const;
export type AccessTemplatePlaceholder = (typeof AccessTemplatePlaceholders)[number];

/** The built-in templates: they render exactly the commands OpsDesk issued before templates existed. */
export const DEFAULT_ACCESS_TEMPLATES = {
  direct_ssh: 'ssh -p {{port}} {{user}}@{{host}}',
  bastion_ssh: 'ssh -J {{jump}} -p {{port}} {{user}}@{{host}}',
  teleport: 'tsh ssh --proxy={{proxy}} {{user}}@{{hostname}}',
  /** used instead of `teleport` when a cluster is configured */
  teleport_cluster: 'tsh ssh --proxy={{proxy}} --cluster={{cluster}} {{user}}@{{hostname}}',
} as const;

export type TemplateSegment = { lit: string } | { ph: AccessTemplatePlaceholder };

export interface TemplateWord {
  /** the word as written in the template (used verbatim when it has no placeholder) */
  raw: string;
  /** the word after quote removal, split at placeholders */
  segments: TemplateSegment[];
  placeholders: AccessTemplatePlaceholder[];
}

export class AccessTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccessTemplateError';
  }
}

/** Characters allowed unquoted in a template word (no globbing, expansion or operators among them). */
const UNQUOTED_OK = /[A-Za-z0-9_.:@%+=,/-]/;
const PROGRAM_RE = /^[A-Za-z0-9_./][A-Za-z0-9_./+-]*$/;
/** Words the shell re-reads or treats specially in command position. */
const FORBIDDEN_PROGRAMS = new Set([
  'eval', '.', 'source', 'exec', 'command', 'builtin', 'trap', 'alias', 'export', 'readonly', 'set', 'unset',
  'if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'while', 'until', 'do', 'done', 'function', 'select', 'time', 'in',
]);
const PLACEHOLDER_RE = /^\{\{\s*([a-z_]+)\s*\}\}/;
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function describeChar(c: string): string {
  if (c === ';' || c === '|' || c === '&') return `'${c}' outside quotes (command lists, pipes and background jobs are not allowed)`;
  if (c === '<' || c === '>') return `'${c}' outside quotes (redirections are not allowed)`;
  if (c === '(' || c === ')') return `'${c}' outside quotes (subshells are not allowed)`;
  if (c === '$') return `'$' outside single quotes (expansions and command substitution are not allowed)`;
  if (c === '`') return `'\`' outside single quotes (command substitution is not allowed)`;
  if (c === '\\') return `'\\' outside single quotes (use quotes instead of escapes)`;
  return `'${c}' outside quotes (globbing, tilde, brace and history expansion and comments are not allowed)`;
}

/**
 * Parses and validates a template; throws AccessTemplateError with a message that says what is wrong.
 * `{{name}}` is a placeholder anywhere (unquoted, in single or in double quotes); an unknown name is an error.
 */
export function parseAccessTemplate(template: string): TemplateWord[] {
  if (template.length > ACCESS_TEMPLATE_MAX_LENGTH) throw new AccessTemplateError(`must be at most ${ACCESS_TEMPLATE_MAX_LENGTH} characters`);
  if (CONTROL_RE.test(template.replace(/\t/g, ' '))) throw new AccessTemplateError('must be one line without control characters');
  const words: TemplateWord[] = [];
  let i = 0;
  const n = template.length;
  while (i < n) {
    while (i < n && (template[i] === ' ' || template[i] === '\t')) i++;
    if (i >= n) break;
    const start = i;
    const segments: TemplateSegment[] = [];
    const placeholders: AccessTemplatePlaceholder[] = [];
    let lit = '';
    const flush = () => {
      if (lit) segments.push({ lit });
      lit = '';
    };
    const placeholderAt = (): boolean => {
      const m = PLACEHOLDER_RE.exec(template.slice(i));
      if (!m) {
        if (template.startsWith('{{', i)) throw new AccessTemplateError(`malformed placeholder at position ${i + 1}: write {{name}}`);
        return false;
      }
      const name = m[1] as AccessTemplatePlaceholder;
      if (!AccessTemplatePlaceholders.includes(name)) throw new AccessTemplateError(`unknown placeholder {{${m[1]}}}; known: ${AccessTemplatePlaceholders.map((p) => `{{${p}}}`).join(' ')}`);
      flush();
      segments.push({ ph: name });
      placeholders.push(name);
      i += m[0].length;
      return true;
    };
    while (i < n && template[i] !== ' ' && template[i] !== '\t') {
      const c = template[i];
      if (placeholderAt()) continue;
      if (c === "'") {
        i++;
        for (;;) {
          if (i >= n) throw new AccessTemplateError('unterminated single quote');
          if (template[i] === "'") break;
          if (placeholderAt()) continue;
          lit += template[i++];
        }
        i++;
        continue;
      }
      if (c === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new AccessTemplateError('unterminated double quote');
          const d = template[i];
          if (d === '"') break;
          if (placeholderAt()) continue;
          // inside double quotes the shell still expands $, ` and \ (and bash's interactive history expansion !)
          if (d === '$' || d === '`' || d === '\\' || d === '!') throw new AccessTemplateError(`'${d}' inside double quotes (expansions are not allowed; use single quotes)`);
          lit += d;
          i++;
        }
        i++;
        continue;
      }
      if (!UNQUOTED_OK.test(c)) throw new AccessTemplateError(`${describeChar(c)} at position ${i + 1}`);
      lit += c;
      i++;
    }
    flush();
    words.push({ raw: template.slice(start, i), segments, placeholders });
  }
  if (words.length === 0) throw new AccessTemplateError('is empty');
  const program = words[0];
  if (program.placeholders.length || !PROGRAM_RE.test(program.raw))
    throw new AccessTemplateError('must start with a program name (letters, digits, . _ / + -), not a placeholder, quote or option');
  const base = program.raw.split('/').pop() ?? program.raw;
  if (FORBIDDEN_PROGRAMS.has(base) || program.raw.includes('='))
    throw new AccessTemplateError(`must not start with '${program.raw}' (the shell would re-read the words or treat it specially)`);
  return words;
}

/** null when the template is acceptable, else what is wrong with it (for field errors). */
export function accessTemplateProblem(template: string): string | null {
  try {
    parseAccessTemplate(template);
    return null;
  } catch (err) {
    if (err instanceof AccessTemplateError) return err.message;
    throw err;
  }
}
