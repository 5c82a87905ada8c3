import {
  AccessTemplateError,
  parseAccessTemplate,
  type AccessTemplatePlaceholder,
  type TemplateWord,
} from '@opsdesk/contracts';
import { isSafeWord, shellQuote } from './ssh-command';

export type TemplateValues = Partial<Record<AccessTemplatePlaceholder, string>>;

/** A placeholder the template uses has no value for this host (e.g. {{jump}} on a host without a bastion). */
export class MissingTemplateValueError extends Error {
  constructor(public readonly placeholder: AccessTemplatePlaceholder) {
    super(`the template uses {{${placeholder}}}, which has no value for this host`);
    this.name = 'MissingTemplateValueError';
  }
}

const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/**
 * Renders a validated template (libs/contracts access-template.ts) into argv and the one-line shell command.
 * A word without placeholders is written exactly as in the template (the validator allowed only inert text);
 * a word with placeholders is rebuilt from its parts (quotes removed, values inserted) and written as ONE
 * shell word with shellQuote — whatever the values contain, the shell sees exactly that one argument. This is
 * also what makes the default templates reproduce the fixed renderer's commands character for character
 * (`{{user}}@{{host}}` quotes as one word, like renderSshCommand's `<user>@<ip>`).
 * Throws AccessTemplateError (bad template or value) or MissingTemplateValueError.
 */
export function renderAccessTemplate(template: string, values: TemplateValues): { argv: string[]; command: string } {
  const words = parseAccessTemplate(template);
  const argv: string[] = [];
  const out: string[] = [];
  for (const w of words) {
    let value = '';
    for (const s of w.segments) {
      if ('lit' in s) {
        value += s.lit;
        continue;
      }
      const v = values[s.ph];
      if (v === undefined) throw new MissingTemplateValueError(s.ph);
      // a value is one line of text: no NUL (cannot be an argument), no new line (the command must stay one line)
      if (CONTROL_RE.test(v)) throw new AccessTemplateError(`the value of {{${s.ph}}} contains control characters`);
      value += v;
    }
    argv.push(value);
    out.push(w.placeholders.length ? quoteWord(w, value) : w.raw);
  }
  return { argv, command: out.join(' ') };
}

/**
 * shellQuote also quotes a word that starts with '-' (a value should never turn into an option unnoticed). When
 * the '-' is the template's own (`--proxy={{proxy}}`), the option is intended: the word stays bare if it is
 * otherwise safe, so the command reads as written.
 */
function quoteWord(w: TemplateWord, value: string): string {
  const first = w.segments[0];
  if (first && 'lit' in first && first.lit.startsWith('-') && isSafeWord(value)) return value;
  return shellQuote(value);
}
