import { DynamicModule, Global, Module } from '@nestjs/common';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from './artifacts.config';

@Global()
@Module({})
export class ArtifactsConfigModule {
  static forRoot(config: ArtifactsConfig): DynamicModule {
    return { module: ArtifactsConfigModule, providers: [{ provide: ARTIFACTS_CONFIG, useValue: config }], exports: [ARTIFACTS_CONFIG] };
  }
}
