import { csvCell, csvLine, neutralise } from './csv';

describe('CSV cells', () => {
  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])('neutralises formula start %j', (v) => {
    expect(neutralise(v)).toBe(`'${v}`);
  });

  it('leaves ordinary values alone and quotes RFC 4180 specials', () => {
    expect(neutralise('host-1')).toBe('host-1');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell(null)).toBe('');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
    expect(csvLine(['=cmd|calc', 1])).toBe(`'=cmd|calc,1\r\n`);
  });
});
