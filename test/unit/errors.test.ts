import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, TributaryError } from '../../src/core/errors.ts';

describe('error catalog', () => {
  it('docs/ERRORS.md lists exactly the codes in the catalog, with the same retryable flag', () => {
    const doc = readFileSync(new URL('../../docs/ERRORS.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (yes|no) \|/gm)].map((m) => [m[1], m[2] === 'yes'] as const);
    const code = Object.entries(ERROR_CODES).map(([k, v]) => [k, v.retryable] as const);
    expect(rows.sort()).toEqual(code.sort());
  });

  it('errors carry code, retryable flag and context', () => {
    const e = new TributaryError('BOOK_GAP', 'gap', { venue: 'x' });
    expect(e.code).toBe('BOOK_GAP');
    expect(e.retryable).toBe(true);
    expect(e.context).toEqual({ venue: 'x' });
    expect(new TributaryError('CONFIG_INVALID', 'bad').retryable).toBe(false);
  });
});
