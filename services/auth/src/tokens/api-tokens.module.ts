import { Module } from '@nestjs/common';
import { RevocationModule } from '../revocation/revocation.module';
import { ApiTokensController } from './api-tokens.controller';
import { ApiTokensService } from './api-tokens.service';

@Module({ imports: [RevocationModule], controllers: [ApiTokensController], providers: [ApiTokensService] })
export class ApiTokensModule {}
