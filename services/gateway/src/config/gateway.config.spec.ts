import { generateEd25519KeyPair } from '@opsdesk/config';
import { loadGatewayConfig } from './gateway.config';

describe('gateway config: TRACE_UI_URL', () => {
  // the variables a development gateway needs besides the one under test
  const base = { ENVIRONMENT: 'development', JWT_SECRET: 'x'.repeat(40), GATEWAY_CONTEXT_PRIVATE_KEY: generateEd25519KeyPair().privateKey };

  it('is optional (no link) and keeps a http(s) template with {trace_id}', () => {
    expect(loadGatewayConfig(base).TRACE_UI_URL).toBeUndefined();
    expect(loadGatewayConfig({ ...base, TRACE_UI_URL: '' }).TRACE_UI_URL).toBeUndefined();
    expect(loadGatewayConfig({ ...base, TRACE_UI_URL: 'https://jaeger.example.com/trace/{trace_id}' }).TRACE_UI_URL).toBe('https://jaeger.example.com/trace/{trace_id}');
  });

  it('refuses a template without {trace_id} or with another scheme, naming the variable', () => {
    for (const bad of ['https://jaeger.example.com/trace/', 'javascript:alert(1)//{trace_id}', 'ftp://x/{trace_id}', 'not a url'])
      expect(() => loadGatewayConfig({ ...base, TRACE_UI_URL: bad })).toThrow(/TRACE_UI_URL/);
  });
});
