{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "opsdesk.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name for every object. */}}
{{- define "opsdesk.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "opsdesk.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "opsdesk.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one service; call with (dict "root" $ "name" "gateway"). */}}
{{- define "opsdesk.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opsdesk.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "opsdesk.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret holding JWT_PRIVATE_KEY: referenced by the auth Deployment only. */}}
{{- define "opsdesk.authKeySecretName" -}}
{{- default (printf "%s-auth-keys" (include "opsdesk.fullname" .)) .Values.authKeys.existingSecret -}}
{{- end -}}

{{- define "opsdesk.secretName" -}}
{{- default (printf "%s-secrets" (include "opsdesk.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* DATABASE_URL: explicit secret value, else the bundled postgresql's service. */}}
{{- define "opsdesk.databaseUrl" -}}
{{- if .Values.secrets.DATABASE_URL -}}
{{- .Values.secrets.DATABASE_URL -}}
{{- else if .Values.postgresql.enabled -}}
{{- printf "postgres://%s:%s@%s-postgresql:5432/%s" .Values.postgresql.auth.username (required "postgresql.auth.password is required" .Values.postgresql.auth.password | urlquery) .Release.Name .Values.postgresql.auth.database -}}
{{- else -}}
{{- required "secrets.DATABASE_URL is required (or postgresql.enabled=true, or secrets.existingSecret)" .Values.secrets.DATABASE_URL -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by every service container and the migrate job. */}}
{{- define "opsdesk.envFrom" -}}
- configMapRef:
    name: {{ include "opsdesk.fullname" . }}-config
- secretRef:
    name: {{ include "opsdesk.secretName" . }}
{{- end -}}
