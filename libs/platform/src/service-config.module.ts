import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { InternalTokens } from '@opsdesk/authn';
import { INTERNAL_TOKEN_LEDGER, InternalAuthGuard, internalTokensFor } from './internal-auth.guard';
import type { SqlQuery } from '@opsdesk/messaging';
import { PgInternalTokenLedger } from './internal-token-ledger';

/**
 * A service's validated config under its injection token, for every module of the app (global). A service with
 * internal HTTP routes (bodies streamed by the gateway: CSV import/export, audit export, artifact bytes) also
 * gets the verifier of the gateway's internal tokens addressed to it, the ledger that holds each token to one use
 * (a table in its schema: internalTokensUsedMigration), and the guard that uses both.
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
      // Loaded here, not at the top: the gateway (no schema, no internal routes) never loads TypeORM through this file.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { getDataSourceToken } = require('@nestjs/typeorm') as typeof import('@nestjs/typeorm');
      providers.push(
        { provide: InternalTokens, useValue: tokens },
        // the ledger's table is in the service's own schema, named like the service (internalTokensUsedMigration)
        { provide: INTERNAL_TOKEN_LEDGER, useFactory: (ds: SqlQuery) => new PgInternalTokenLedger(ds, opts.internalRoutesOf), inject: [getDataSourceToken()] },
        InternalAuthGuard,
      );
      // exported: a guard named in @UseGuards is built in its controller's module, which resolves from these
      exports.push(InternalTokens, INTERNAL_TOKEN_LEDGER, InternalAuthGuard);
    }
    return { module: ServiceConfigModule, providers, exports };
  }
}
