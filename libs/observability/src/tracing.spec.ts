import { tracingResourceAttributes } from './tracing';

describe('trace resource attributes', () => {
  it('names the service, and takes namespace, version, environment and host from the environment', () => {
    expect(
      tracingResourceAttributes('inventory', { OTEL_SERVICE_NAMESPACE: 'acme-opsdesk', OPSDESK_VERSION: '2.3.1', ENVIRONMENT: 'staging', HOSTNAME: 'opsdesk-inventory-7d9f8-abcde' }),
    ).toEqual({
      'service.name': 'opsdesk-inventory',
      'service.namespace': 'acme-opsdesk',
      'service.version': '2.3.1',
      'deployment.environment': 'staging',
      'deployment.environment.name': 'staging',
      'host.name': 'opsdesk-inventory-7d9f8-abcde',
      'service.instance.id': `opsdesk-inventory-7d9f8-abcde:${process.pid}`,
    });
  });

  it('falls back to the defaults libs/config applies (namespace opsdesk, environment production)', () => {
    const a = tracingResourceAttributes('gateway', {});
    expect(a['service.namespace']).toBe('opsdesk');
    expect(a['deployment.environment']).toBe('production');
    expect(a['host.name'].length).toBeGreaterThan(0);
  });
});
