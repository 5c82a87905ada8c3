import { Permissions } from '@opsdesk/contracts';
import { edgeRouteOf } from './edge-routes';

const ID = '0b7f8c2e-3d4a-4e5f-8a9b-1c2d3e4f5a6b';

describe('edgeRouteOf (which public requests get an artifact ticket)', () => {
  it('maps an upload and a download to their permission and internal route, the id as the client spelled it', () => {
    expect(edgeRouteOf('POST', `/api/hosts/${ID}/artifacts`)).toEqual({ permission: Permissions.ARTIFACTS_WRITE, method: 'POST', path: `/internal/hosts/${ID}/artifacts` });
    expect(edgeRouteOf('get', `/api/artifacts/${ID.toUpperCase()}/download`)).toEqual({
      permission: Permissions.ARTIFACTS_DOWNLOAD,
      method: 'GET',
      path: `/internal/artifacts/${ID.toUpperCase()}/download`,
    });
  });

  it('gives nothing for any other method, route, shape or a query string (the gateway serves those)', () => {
    for (const [method, uri] of [
      ['GET', `/api/hosts/${ID}/artifacts`],
      ['HEAD', `/api/artifacts/${ID}/download`],
      ['PUT', `/api/hosts/${ID}/artifacts`],
      ['POST', `/api/hosts/${ID}/artifacts/`],
      ['POST', `/api/hosts/${ID}/artifacts?kind=log`],
      ['GET', `/api/artifacts/${ID}/download?x=1`],
      ['GET', `/api/artifacts/${ID}/download#x`],
      ['POST', `/api/hosts/not-a-uuid/artifacts`],
      ['POST', `/api/hosts/${ID}/../${ID}/artifacts`],
      ['GET', `/api/artifacts/${ID}`],
      ['DELETE', `/api/artifacts/${ID}`],
      ['POST', '/api/hosts'],
      [undefined, `/api/hosts/${ID}/artifacts`],
      ['POST', undefined],
    ] as const) {
      expect({ method, uri, route: edgeRouteOf(method, uri) }).toEqual({ method, uri, route: null });
    }
  });
});
