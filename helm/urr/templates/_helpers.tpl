{{/* Names, labels and the environment shared by the chart's workloads. */}}

{{- define "urr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "urr.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's name: "<fullname>-<suffix>", kept within 63 characters. */}}
{{- define "urr.componentName" -}}
{{- printf "%s-%s" (include "urr.fullname" .root | trunc (int (sub 62 (len .suffix)))) .suffix | trimSuffix "-" -}}
{{- end -}}

{{- define "urr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of a component (node, migrate, tier1, redis, postgresql). */}}
{{- define "urr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "urr.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "urr.labels" -}}
helm.sh/chart: {{ include "urr.chart" .root }}
{{ include "urr.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: urr
{{- end -}}

{{- define "urr.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "urr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "urr.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding URR_JWT_SECRET, DATABASE_URL, REDIS_URL and the payment keys. */}}
{{- define "urr.secretName" -}}
{{- default (include "urr.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* A generated secret value, kept across upgrades: what the live Secret holds, else new. */}}
{{- define "urr.keptRandom" -}}
{{- $live := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $live $live.data (hasKey $live.data .key) -}}
{{- index $live.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 48 -}}
{{- end -}}
{{- end -}}

{{- define "urr.jwtSecret" -}}
{{- if .Values.secrets.jwtSecret -}}
{{- .Values.secrets.jwtSecret -}}
{{- else -}}
{{- include "urr.keptRandom" (dict "root" . "secret" (include "urr.fullname" .) "key" "URR_JWT_SECRET") -}}
{{- end -}}
{{- end -}}

{{- define "urr.postgresqlName" -}}
{{- include "urr.componentName" (dict "root" . "suffix" "postgresql") -}}
{{- end -}}

{{- define "urr.redisName" -}}
{{- include "urr.componentName" (dict "root" . "suffix" "redis") -}}
{{- end -}}

{{- define "urr.postgresqlPassword" -}}
{{- if .Values.postgresql.password -}}
{{- .Values.postgresql.password -}}
{{- else -}}
{{- include "urr.keptRandom" (dict "root" . "secret" (include "urr.postgresqlName" .) "key" "password") -}}
{{- end -}}
{{- end -}}

{{/* Refuses values that would render a release that cannot run. */}}
{{- define "urr.validate" -}}
{{- $v := .Values -}}
{{- if not (or $v.secrets.existingSecret $v.postgresql.enabled $v.secrets.databaseUrl) -}}
{{- fail "PostgreSQL: set secrets.databaseUrl, secrets.existingSecret, or postgresql.enabled (laptops only)" -}}
{{- end -}}
{{- if not (or $v.secrets.existingSecret $v.redis.enabled $v.secrets.redisUrl) -}}
{{- fail "Redis: set secrets.redisUrl, secrets.existingSecret, or redis.enabled (laptops only)" -}}
{{- end -}}
{{- $timeout := int (default 15 (index $v.config "URR_REQUEST_TIMEOUT_SECS")) -}}
{{- $needed := add (int $v.shutdown.preStopSleepSeconds) $timeout 15 -}}
{{- if lt (int $v.shutdown.terminationGracePeriodSeconds) (int $needed) -}}
{{- fail (printf "shutdown.terminationGracePeriodSeconds must be at least %d: the preStop sleep (%d s), a request's timeout (%d s) and 15 s to hand the node's events over" $needed (int $v.shutdown.preStopSleepSeconds) $timeout) -}}
{{- end -}}
{{- if and (eq $v.tier1.mode "cluster") (not $v.ingress.enabled) -}}
{{- fail "tier1.mode=cluster is reached through the Ingress (/vwr-api/* to the room): set ingress.enabled" -}}
{{- end -}}
{{- if and (eq $v.tier1.mode "lambda") (hasKey $v.config "URR_VWR_STORE") (ne (toString (index $v.config "URR_VWR_STORE")) "dynamodb") -}}
{{- fail "tier1.mode=lambda puts the room on DynamoDB: drop config.URR_VWR_STORE" -}}
{{- end -}}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) -}}
{{- fail "autoscaling.minReplicas is above autoscaling.maxReplicas" -}}
{{- end -}}
{{- end -}}

{{/*
The service URLs and secrets a container gets, as EnvVar objects:
  root   the chart's context
  db     DATABASE_URL (with the chart's PostgreSQL, made of its password)
  redis  REDIS_URL
  jwt    URR_JWT_SECRET
  toss   URR_TOSS_SECRET_KEY (optional)
  admin  URR_VWR_ADMIN_KEY and URR_VWR_CAPTCHA_SECRET (optional)
  forJob read the URLs from the migration hook's own Secret
*/}}
{{- define "urr.serviceEnv" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $own := include "urr.fullname" $root -}}
{{- $urls := ternary (include "urr.componentName" (dict "root" $root "suffix" "migrate")) $own (and (not (empty .forJob)) (empty $v.secrets.existingSecret)) -}}
{{- $urls = default $urls $v.secrets.existingSecret -}}
{{- $secret := include "urr.secretName" $root -}}
{{- if .db }}
{{- if $v.postgresql.enabled }}
- name: POSTGRESQL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "urr.postgresqlName" $root }}
      key: password
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(POSTGRESQL_PASSWORD)@%s:5432/%s" $v.postgresql.username (include "urr.postgresqlName" $root) $v.postgresql.database | quote }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $urls }}
      key: {{ ternary $v.migrations.databaseUrlKey "DATABASE_URL" (and (not (empty .forJob)) (not (empty $v.secrets.existingSecret))) }}
{{- end }}
{{- end }}
{{- if .redis }}
{{- if $v.redis.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379/" (include "urr.redisName" $root) | quote }}
{{- else }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $urls }}
      key: REDIS_URL
{{- end }}
{{- end }}
{{- if .jwt }}
- name: URR_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: URR_JWT_SECRET
{{- end }}
{{- $optional := dict -}}
{{- if .toss }}{{ $_ := set $optional "URR_TOSS_SECRET_KEY" $v.secrets.tossSecretKey }}{{ end -}}
{{- if .admin }}{{ $_ := set $optional "URR_VWR_ADMIN_KEY" $v.secrets.vwrAdminKey }}{{ end -}}
{{- if .admin }}{{ $_ := set $optional "URR_VWR_CAPTCHA_SECRET" $v.secrets.vwrCaptchaSecret }}{{ end -}}
{{- range $key, $given := $optional }}
{{- if or $v.secrets.existingSecret $given }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}
{{- end -}}

{{/* The Tier-1 settings the chart derives from tier1.mode. */}}
{{- define "urr.tier1Config" -}}
{{- if eq .Values.tier1.mode "lambda" }}
URR_VWR_STORE: "dynamodb"
URR_VWR_COUNTERS_TABLE: {{ .Values.tier1.lambda.countersTable | quote }}
URR_VWR_POSITIONS_TABLE: {{ .Values.tier1.lambda.positionsTable | quote }}
AWS_REGION: {{ .Values.tier1.lambda.region | quote }}
{{- end }}
{{- end -}}

{{/* The pod's restricted security settings (nodes, migrations, Tier-1 room). */}}
{{- define "urr.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
