import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { breakingChanges, unacceptedBreakingChanges } from './openapi-breaking';

const committed = () => JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'openapi.json'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- edited freely below

describe('breakingChanges', () => {
  it('finds none between a document and itself', () => {
    expect(breakingChanges(committed(), committed())).toEqual([]);
  });

  it('flags a removed operation and a changed operation id', () => {
    const next = committed();
    delete next.paths['/api/hosts/{id}'].delete;
    next.paths['/api/hosts'].get.operationId = 'hosts.search';
    expect(breakingChanges(committed(), next)).toEqual(expect.arrayContaining(['DELETE /api/hosts/{id}: operation removed', 'GET /api/hosts: operationId hosts.list became hosts.search']));
  });

  it('flags a response field removed, made optional, made nullable or retyped (through $refs)', () => {
    const next = committed();
    const host = next.components.schemas.Host;
    delete host.properties.fqdn;
    host.required = host.required.filter((f: string) => f !== 'hostname');
    host.properties.ip = { type: 'string', nullable: true };
    host.properties.version = { type: 'string' };
    const found = breakingChanges(committed(), next);
    expect(found).toEqual(
      expect.arrayContaining([
        'GET /api/hosts/{id}: response 200: field fqdn removed',
        'GET /api/hosts/{id}: response 200: field hostname no longer always present',
        'GET /api/hosts/{id}: response 200.ip: may now be null',
        'GET /api/hosts/{id}: response 200.version: type integer became string',
        'GET /api/hosts: response 200.items[]: field fqdn removed',
      ]),
    );
  });

  it('flags new required inputs and narrowed input types; additions are fine', () => {
    const next = committed();
    const create = next.paths['/api/hosts'].post.requestBody.content['application/json'].schema;
    create.required.push('owner');
    create.properties.environment.enum = ['prod', 'stage'];
    create.properties.notes = { ...create.properties.notes, maxLength: 10 };
    create.properties.brand_new = { type: 'string' };
    next.paths['/api/hosts'].get.parameters.push({ name: 'site', in: 'query', required: true, schema: { type: 'string' } });
    next.paths['/api/hosts'].get.parameters.push({ name: 'region', in: 'query', required: false, schema: { type: 'string' } });
    const found = breakingChanges(committed(), next);
    expect(found).toEqual(
      expect.arrayContaining([
        'POST /api/hosts: request body: new required field owner',
        'POST /api/hosts: request body.environment: enum no longer accepts dev',
        'POST /api/hosts: request body.notes: maxLength lowered to 10',
        'GET /api/hosts: new required parameter query site',
      ]),
    );
    expect(found.join('\n')).not.toMatch(/brand_new|region/);
  });

  it('lets a change listed in docs/openapi-breaking-changes.json through, and only that one', () => {
    const next = committed();
    delete next.paths['/api/tags'].get;
    delete next.paths['/api/hosts/summary'].get;
    const accepted = { accepted: [{ change: 'GET /api/tags: operation removed', reason: 'tags moved into the host list (issue 99)' }] };
    expect(unacceptedBreakingChanges(committed(), next, accepted)).toEqual(['GET /api/hosts/summary: operation removed']);
  });

  it('accepts a pattern with * for a change that shows up in many operations', () => {
    const next = committed();
    delete next.components.schemas.Host.properties.notes;
    const all = breakingChanges(committed(), next);
    expect(all.length).toBeGreaterThan(4);
    expect(unacceptedBreakingChanges(committed(), next, { accepted: [{ change: '* field notes removed', reason: 'notes moved to a wiki' }] })).toEqual([]);
    // the pattern is anchored and literal apart from *
    expect(unacceptedBreakingChanges(committed(), next, { accepted: [{ change: 'field notes removed', reason: '' }] })).toEqual(all);
  });
});
