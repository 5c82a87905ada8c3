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

{{/* Database host: database.host, else the CloudNativePG cluster's read-write Service, else the bundled postgresql's. */}}
{{- define "opsdesk.databaseHost" -}}
{{- if .Values.database.host -}}
{{- .Values.database.host -}}
{{- else if .Values.cnpg.enabled -}}
{{- printf "%s-pg-rw" (include "opsdesk.fullname" .) -}}
{{- else if .Values.postgresql.enabled -}}
{{- printf "%s-postgresql" .Release.Name -}}
{{- else -}}
{{- required "database.host is required (or cnpg.enabled=true, or postgresql.enabled=true)" .Values.database.host -}}
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

{{/* The chart runs NATS itself (natsCluster.enabled): its client Service. */}}
{{- define "opsdesk.natsName" -}}
{{- printf "%s-nats" (include "opsdesk.fullname" .) -}}
{{- end -}}

{{/* The Secret with the NATS routes' TLS files (ca.crt, tls.crt, tls.key): the chart's own or natsCluster.routeTls.existingSecret. */}}
{{- define "opsdesk.natsRouteTlsSecretName" -}}
{{- .Values.natsCluster.routeTls.existingSecret | default (printf "%s-route-tls" (include "opsdesk.natsName" .)) -}}
{{- end -}}

{{/* NATS_URL: nats.url, else every node of the chart's own cluster (the client fails over between them). */}}
{{- define "opsdesk.natsUrl" -}}
{{- if .Values.nats.url -}}
{{- .Values.nats.url -}}
{{- else if .Values.natsCluster.enabled -}}
{{- $name := include "opsdesk.natsName" . -}}
{{- $urls := list -}}
{{- range $i := until (int .Values.natsCluster.replicas) -}}
{{- $urls = append $urls (printf "nats://%s-%d.%s-headless:4222" $name $i $name) -}}
{{- end -}}
{{- join "," $urls -}}
{{- else -}}
{{- required "nats.url is required (or natsCluster.enabled=true)" .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{/*
Processes holding a database pool (auth, inventory, audit, artifacts; the gateway has none): replicas, or the
HPA maximum where autoscaling manages a service. Every service checks DB_CLIENT_PROCESSES × pool against the
server at start, so the chart computes it instead of trusting someone to keep it in sync.
*/}}
{{- define "opsdesk.dbClientProcesses" -}}
{{- $n := 0 -}}
{{- range $name := list "auth" "inventory" "audit" "artifacts" -}}
{{- if and $.Values.autoscaling.enabled (has $name $.Values.autoscaling.services) -}}
{{- $n = add $n $.Values.autoscaling.maxReplicas -}}
{{- else -}}
{{- $n = add $n (index $.Values.replicas $name) -}}
{{- end -}}
{{- end -}}
{{- $n -}}
{{- end -}}

{{/*
Dependencies the chart deploys itself (bundled postgresql, CloudNativePG cluster, NATS StatefulSet) do not
exist during a pre-install hook: then the migrate job is a normal resource of each revision, and the pods
stay not ready (/readyz `migrations`) until it has applied this version's migrations. "true" or "".
*/}}
{{- define "opsdesk.inClusterDeps" -}}
{{- if or .Values.postgresql.enabled .Values.cnpg.enabled .Values.natsCluster.enabled -}}true{{- end -}}
{{- end -}}

{{/*
The edge nginx runs when the Ingress does (ingress.enabled) and edge.enabled: the Ingress then routes to it, and it
to the gateway and, for artifact bytes, to the artifacts service (templates/edge.yaml). "true" or "".
*/}}
{{- define "opsdesk.edgeEnabled" -}}
{{- if and .Values.ingress.enabled .Values.edge.enabled -}}true{{- end -}}
{{- end -}}

{{/*
The edge pods' labels: their own app.kubernetes.io/name, so the release-wide selectors (default deny, the NATS and
Postgres clients, the services' HTTP ports) do not include them; templates/networkpolicy.yaml gives them their own.
*/}}
{{- define "opsdesk.edgeSelectorLabels" -}}
app.kubernetes.io/name: {{ include "opsdesk.name" . }}-edge
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: edge
{{- end -}}
