import { Module } from '@nestjs/common';
import { SecurityModule } from '../security/security.module';
import { MfaController } from './mfa.controller';
import { MfaService } from './mfa.service';

@Module({ imports: [SecurityModule], controllers: [MfaController], providers: [MfaService], exports: [MfaService] })
export class MfaModule {}
