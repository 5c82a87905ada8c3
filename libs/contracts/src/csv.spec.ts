import { csvCell, csvLine, neutralise, unneutralise } from './csv';

describe('the CSV writer', () => {
  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', "'=already"])('neutralises formula start %j', (v) => {
    expect(neutralise(v)).toBe(`'${v}`);
  });

  it('leaves ordinary values alone', () => {
    for (const v of ['web-01', "it's", "'quoted", '', 'a=b', '10.0.0.1']) expect(neutralise(v)).toBe(v);
  });

  it('is undone exactly by the import: unneutralise(neutralise(v)) === v', () => {
    const samples = ['=x', "'=x", "''=x", "'x", "''", "'", '-', "'-", '@', 'plain', "'@a", '+', "'+1", "'''=deep", '=', "a'=b", '\t', "'\r"];
    for (const v of samples) expect(unneutralise(neutralise(v))).toBe(v);
    for (const v of samples) expect(neutralise(v)).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('quotes RFC 4180 specials and edge spaces, renders null, numbers and objects', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(' padded ')).toBe('" padded "');
    expect(csvCell('=1,2')).toBe(`"'=1,2"`);
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
    expect(csvLine(['=cmd|calc', 1, null])).toBe(`'=cmd|calc,1,\r\n`);
  });

  it("writes values exactly with formulas: 'keep' (CSV only programs read back), still RFC 4180 quoted", () => {
    expect(csvLine(['=1+1', '-x', 'a,b', null], { formulas: 'keep' })).toBe(`=1+1,-x,"a,b",\r\n`);
  });
});
