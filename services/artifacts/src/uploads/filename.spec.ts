import { FALLBACK_FILENAME, MAX_FILENAME_CHARS, safeFilename, storedOriginalName } from './filename';

describe('safeFilename', () => {
  it('keeps ordinary names', () => {
    expect(safeFilename('syslog-2024-01-01.log.gz')).toBe('syslog-2024-01-01.log.gz');
    expect(safeFilename('crash dump (1).bin')).toBe('crash dump (1).bin');
    expect(safeFilename('журнал.txt')).toBe('журнал.txt');
  });

  it('never yields a path', () => {
    expect(safeFilename('../../etc/passwd')).toBe('passwd');
    expect(safeFilename('..\\..\\windows\\win.ini')).toBe('win.ini');
    expect(safeFilename('/')).toBe(FALLBACK_FILENAME);
    expect(safeFilename('..')).toBe(FALLBACK_FILENAME);
    expect(safeFilename('')).toBe(FALLBACK_FILENAME);
    expect(safeFilename(undefined)).toBe(FALLBACK_FILENAME);
  });

  it('removes control and bidi characters', () => {
    expect(safeFilename('a\u0000b')).toBe('ab');
    expect(safeFilename('report\u202Egpj.exe')).toBe('reportgpj.exe');
    expect(safeFilename('x\r\nSet-Cookie: a=b')).toBe('xSet-Cookie_ a=b');
  });

  it('defuses hidden files, reserved characters and device names', () => {
    expect(safeFilename('.htaccess')).toBe('_htaccess');
    expect(safeFilename('a<b>c:d"e|f?g*h')).toBe('a_b_c_d_e_f_g_h');
    expect(safeFilename('CON.txt')).toBe('_CON.txt');
    expect(safeFilename('name. . ')).toBe('name');
  });

  it('caps the length and keeps the extension', () => {
    const long = `${'a'.repeat(300)}.tar.gz`;
    const s = safeFilename(long);
    expect(Array.from(s).length).toBe(MAX_FILENAME_CHARS);
    expect(s.endsWith('.gz')).toBe(true);
  });
});

describe('storedOriginalName', () => {
  it('keeps the name for display but replaces control characters', () => {
    expect(storedOriginalName('../../etc/passwd')).toBe('../../etc/passwd');
    expect(storedOriginalName('a\u0000b')).toBe('a\ufffdb');
    expect(storedOriginalName('x'.repeat(5000)).length).toBe(1000);
  });
});
