import { filterConditions, givenFilters } from './audit-filters';

describe('audit filters', () => {
  it('binds every value and picks the indexed expression', () => {
    const params: unknown[] = [];
    const where = filterConditions(
      { actor: 'Alice@Example.com', action: 'auth.*', entity_type: 'user', entity_id: 'u1', from: '2024-01-01T00:00:00Z', q: 'host-1' },
      params,
    );
    expect(where).toEqual([
      `lower(actor->>'email') = $1`,
      'type LIKE $2',
      'entity_type = $3',
      'entity_id = $4',
      'occurred_at >= $5',
      `audit.search_vector(type, actor, entity_type, entity_id, request_id, data) @@ plainto_tsquery('simple', $6)`,
    ]);
    expect(params).toEqual(['alice@example.com', 'auth.%', 'user', 'u1', '2024-01-01T00:00:00.000Z', 'host-1']);
  });

  it('matches a user id exactly and escapes LIKE wildcards in prefixes', () => {
    const params: unknown[] = [];
    expect(filterConditions({ actor: '6F1C1C1E-8A53-4F0E-9D6A-6D3C9B1F2A10', action: 'a_b*' }, params)).toEqual([`actor->>'user_id' = $1`, 'type LIKE $2']);
    expect(params).toEqual(['6f1c1c1e-8a53-4f0e-9d6a-6d3c9b1f2a10', 'a\\_b%']);
    expect(givenFilters({ action: 'x' })).toEqual({ action: 'x' });
  });
});
