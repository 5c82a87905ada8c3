import { randomUUID } from 'node:crypto';
import { mayRemoveTemp, parseTempOwner, tempPrefix, type TempOwner } from './temp-owner';

const self: TempOwner = { instance: 'replica-a', pid: 100, boot: 'aaaaaaaaaaaaaaaa' };
const name = (o: TempOwner) => `${tempPrefix(o)}${randomUUID()}.part`;
const GRACE = 60_000;
const young = 1_000;
const old = GRACE + 1;
const alive = (pids: number[]) => (pid: number) => pids.includes(pid);

describe('temp owner', () => {
  it('round-trips the writer through the name, and refuses other names', () => {
    const n = name(self);
    expect(parseTempOwner(n)).toEqual(self);
    expect(parseTempOwner(n.replace(/\.part$/, ''))).toEqual(self);
    expect(parseTempOwner('crashed-upload.part')).toBeNull();
    expect(parseTempOwner(`../x~1~aaaaaaaaaaaaaaaa~${randomUUID()}.part`)).toBeNull();
  });

  it("another instance's temp is kept until it is older than the grace period, whatever its pid", () => {
    const other = name({ instance: 'replica-b', pid: 100, boot: 'bbbbbbbbbbbbbbbb' });
    expect(mayRemoveTemp({ name: other, ageMs: young }, self, GRACE, alive([]))).toBe(false);
    expect(mayRemoveTemp({ name: other, ageMs: old }, self, GRACE, alive([100]))).toBe(true);
    expect(mayRemoveTemp({ name: 'crashed-upload.part', ageMs: young }, self, GRACE)).toBe(false);
    expect(mayRemoveTemp({ name: 'crashed-upload.part', ageMs: old }, self, GRACE)).toBe(true);
  });

  it('this instance: a dead process or start is removed at once, a live one only when aged', () => {
    const deadPid = name({ ...self, pid: 200, boot: 'cccccccccccccccc' });
    expect(mayRemoveTemp({ name: deadPid, ageMs: young }, self, GRACE, alive([]))).toBe(true);
    const livePid = name({ ...self, pid: 300, boot: 'dddddddddddddddd' });
    expect(mayRemoveTemp({ name: livePid, ageMs: young }, self, GRACE, alive([300]))).toBe(false);
    expect(mayRemoveTemp({ name: livePid, ageMs: old }, self, GRACE, alive([300]))).toBe(true);
    // same pid: a container restarted as pid 1 again, or another start in this process
    const previous = name({ ...self, boot: 'eeeeeeeeeeeeeeee' });
    expect(mayRemoveTemp({ name: previous, ageMs: young }, self, GRACE, alive([100]), new Set([self.boot]))).toBe(true);
    expect(mayRemoveTemp({ name: previous, ageMs: young }, self, GRACE, alive([100]), new Set([self.boot, 'eeeeeeeeeeeeeeee']))).toBe(false);
    // this start's own temp that is not in progress (the caller skips those in progress)
    expect(mayRemoveTemp({ name: name(self), ageMs: young }, self, GRACE, alive([100]))).toBe(true);
  });
});
