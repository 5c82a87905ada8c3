import { Module } from '@nestjs/common';
import { RevocationService } from './revocation.service';

@Module({ providers: [RevocationService], exports: [RevocationService] })
export class RevocationModule {}
