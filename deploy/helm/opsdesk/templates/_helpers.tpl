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

{{/*
Secret of one component, called with (dict "root" $ "name" "auth"): every component (db-provision, migrate, each
service) has its own Secret holding exactly the variables it needs (SPEC §7). With secrets.existingSecret set,
the chart expects one Secret per component named <existingSecret>-<component>, with the same keys.
*/}}
{{- define "opsdesk.secretName" -}}
{{- if .root.Values.secrets.existingSecret -}}
{{- printf "%s-%s" .root.Values.secrets.existingSecret .name -}}
{{- else -}}
{{- printf "%s-%s" (include "opsdesk.fullname" .root) .name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding one NATS password per login (nats-secret.yaml). */}}
{{- define "opsdesk.natsSecretName" -}}
{{- default (printf "%s-nats" (include "opsdesk.fullname" .)) .Values.nats.existingSecret -}}
{{- end -}}

{{/* Database host: database.host, else the bundled postgresql's service. */}}
{{- define "opsdesk.databaseHost" -}}
{{- if .Values.database.host -}}
{{- .Values.database.host -}}
{{- else if .Values.postgresql.enabled -}}
{{- printf "%s-postgresql" .Release.Name -}}
{{- else -}}
{{- required "database.host is required (or postgresql.enabled=true)" .Values.database.host -}}
{{- end -}}
{{- end -}}

{{/* postgres:// URL of one login, called with (dict "root" $ "user" "opsdesk_auth" "password" "..."). */}}
{{- define "opsdesk.loginUrl" -}}
{{- $db := .root.Values.database -}}
{{- printf "postgres://%s:%s@%s:%v/%s" .user (.password | urlquery) (include "opsdesk.databaseHost" .root) $db.port $db.name -}}
{{- if $db.sslmode -}}{{- printf "?sslmode=%s" $db.sslmode -}}{{- end -}}
{{- end -}}

{{/* The superuser URL only the provision job gets: secrets.DB_ADMIN_URL, else the bundled postgresql's postgres user. */}}
{{- define "opsdesk.adminUrl" -}}
{{- if .Values.secrets.DB_ADMIN_URL -}}
{{- .Values.secrets.DB_ADMIN_URL -}}
{{- else if .Values.postgresql.enabled -}}
{{- include "opsdesk.loginUrl" (dict "root" . "user" "postgres" "password" (required "postgresql.auth.postgresPassword is required (the provision job creates the logins with it)" .Values.postgresql.auth.postgresPassword)) -}}
{{- else -}}
{{- required "secrets.DB_ADMIN_URL is required (or postgresql.enabled=true, or secrets.existingSecret)" .Values.secrets.DB_ADMIN_URL -}}
{{- end -}}
{{- end -}}

{{/* Environment of one component (dict "root" $ "name" "auth"): the shared non-secret ConfigMap and its own Secret. */}}
{{- define "opsdesk.envFrom" -}}
- configMapRef:
    name: {{ include "opsdesk.fullname" .root }}-config
- secretRef:
    name: {{ include "opsdesk.secretName" . }}
{{- end -}}
