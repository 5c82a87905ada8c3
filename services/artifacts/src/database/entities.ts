import { Artifact } from '../artifacts/artifact.entity';
import { Blob } from '../storage/blob.entity';

export const artifactsEntities = [Artifact, Blob];
