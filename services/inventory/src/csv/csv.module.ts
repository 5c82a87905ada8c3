import { Module } from '@nestjs/common';
import { CsvController } from './csv.controller';
import { ExportService } from './export.service';
import { ImportService } from './import.service';

/** The host inventory as CSV, both ways: import (dry run, commit) and export (streamed), on the internal HTTP port. */
@Module({ controllers: [CsvController], providers: [ImportService, ExportService] })
export class CsvModule {}
