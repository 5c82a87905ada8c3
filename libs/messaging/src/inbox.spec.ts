import { sourceMismatch } from './inbox';

// The subject proves the producer (only <svc> may publish <prefix>.<svc>.…): the payload must agree.
describe('sourceMismatch', () => {
  it('accepts an event whose subject is <prefix>.<type> and whose source is the type\'s producer', () => {
    expect(sourceMismatch('opsdesk', 'opsdesk.inventory.host.deleted', { type: 'inventory.host.deleted', source: 'inventory' })).toBeNull();
    expect(sourceMismatch('t_x.opsdesk', 't_x.opsdesk.auth.logout', { type: 'auth.logout', source: 'auth' })).toBeNull();
  });

  it('refuses a source that is not the producer, and a type that is not the subject', () => {
    expect(sourceMismatch('opsdesk', 'opsdesk.inventory.host.deleted', { type: 'inventory.host.deleted', source: 'auth' })).toBe(
      'source auth is not the producer inventory that published opsdesk.inventory.host.deleted',
    );
    expect(sourceMismatch('opsdesk', 'opsdesk.inventory.host.deleted', { type: 'auth.user.deleted', source: 'auth' })).toBe(
      'type auth.user.deleted does not match subject opsdesk.inventory.host.deleted',
    );
  });
});
