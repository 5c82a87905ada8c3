import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { InternalTokens } from '@opsdesk/authn';
import { InternalAuthGuard, internalTokensFor } from './internal-auth.guard';

/**
 * A service's validated config under its injection token, for every module of the app (global). A service with
 * internal HTTP routes (bodies streamed by the gateway: CSV import/export, audit export, artifact bytes) also
 * gets the verifier of the gateway's internal tokens addressed to it, and the guard that uses it.
 */
@Global()
@Module({})
export class ServiceConfigModule {
  static forRoot<T extends object>(token: symbol, config: T): DynamicModule;
  static forRoot<T extends { GATEWAY_CONTEXT_PUBLIC_KEY: string }>(token: symbol, config: T, opts: { internalRoutesOf: string }): DynamicModule;
  static forRoot(token: symbol, config: object, opts?: { internalRoutesOf: string }): DynamicModule {
    const providers: Provider[] = [{ provide: token, useValue: config }];
    const exports: Array<symbol | typeof InternalTokens | typeof InternalAuthGuard> = [token];
    if (opts) {
      const tokens = internalTokensFor(opts.internalRoutesOf, config as { GATEWAY_CONTEXT_PUBLIC_KEY: string });
      providers.push({ provide: InternalTokens, useValue: tokens }, InternalAuthGuard);
      exports.push(InternalTokens, InternalAuthGuard);
    }
    return { module: ServiceConfigModule, providers, exports };
  }
}
