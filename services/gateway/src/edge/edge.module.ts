import { Module } from '@nestjs/common';
import { EdgeController } from './edge.controller';

/** Artifact tickets for nginx's one-hop byte routes (edge.controller.ts). */
@Module({ controllers: [EdgeController] })
export class EdgeModule {}
