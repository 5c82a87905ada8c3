import { Module } from '@nestjs/common';
import { ExportService } from './export.service';
import { ImportController } from './import.controller';
import { ImportService } from './import.service';

@Module({ controllers: [ImportController], providers: [ImportService, ExportService] })
export class ImportModule {}
