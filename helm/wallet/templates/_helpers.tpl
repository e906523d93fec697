{{/*
Names
*/}}
{{- define "wallet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "wallet.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of one component's objects: <fullname>-<component>. Call with (dict "root" $ "name" "auth"). */}}
{{- define "wallet.componentName" -}}
{{- printf "%s-%s" (include "wallet.fullname" .root | trunc 50 | trimSuffix "-") .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "wallet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels. Call the component variants with (dict "root" $ "name" "auth").
*/}}
{{- define "wallet.labels" -}}
helm.sh/chart: {{ include "wallet.chart" . }}
app.kubernetes.io/name: {{ include "wallet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wallet
{{- end }}

{{- define "wallet.componentLabels" -}}
{{ include "wallet.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "wallet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wallet.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "wallet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wallet.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image of one service. Call with (dict "root" $ "name" "auth" "svc" $svc). */}}
{{- define "wallet.image" -}}
{{- $img := .svc.image | default dict }}
{{- $repo := $img.repository | default (printf "%s-%s" .root.Values.image.repository .name) }}
{{- $tag := $img.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- printf "%s:%s" $repo (toString $tag) }}
{{- end }}

{{/* WALLET_SERVICES_<NAME>_PORT */}}
{{- define "wallet.portEnvName" -}}
{{- printf "WALLET_SERVICES_%s_PORT" (. | upper | replace "-" "_") }}
{{- end }}

{{- define "wallet.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add (div (add (int .Values.shutdownTimeoutMs) 999) 1000) (int .Values.preStopSleepSeconds) 5 }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/*
Secrets
*/}}
{{- define "wallet.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "wallet.fullname" .) }}
{{- end }}

{{/* The chart's Secret for store URLs given as values or pointing at the bundled stores. */}}
{{- define "wallet.storesSecretName" -}}
{{- printf "%s-stores" (include "wallet.fullname" .) }}
{{- end }}

{{- define "wallet.mongodb.secretName" -}}
{{- .Values.externalMongodb.existingSecret | default (include "wallet.storesSecretName" .) }}
{{- end }}

{{- define "wallet.mongodb.secretKey" -}}
{{- if .Values.externalMongodb.existingSecret }}{{ .Values.externalMongodb.existingSecretKey }}{{ else }}mongodb-uri{{ end }}
{{- end }}

{{- define "wallet.redis.secretName" -}}
{{- .Values.externalRedis.existingSecret | default (include "wallet.storesSecretName" .) }}
{{- end }}

{{- define "wallet.redis.secretKey" -}}
{{- if .Values.externalRedis.existingSecret }}{{ .Values.externalRedis.existingSecretKey }}{{ else }}redis-url{{ end }}
{{- end }}

{{/*
Bundled stores (dev clusters)
*/}}
{{- define "wallet.mongodb.bundledName" -}}
{{- include "wallet.componentName" (dict "root" . "name" "mongodb") }}
{{- end }}

{{- define "wallet.redis.bundledName" -}}
{{- include "wallet.componentName" (dict "root" . "name" "redis") }}
{{- end }}

{{/* Host of the bundled MongoDB's only member: a stable DNS name through the headless Service. */}}
{{- define "wallet.mongodb.bundledHost" -}}
{{- $name := include "wallet.mongodb.bundledName" . }}
{{- printf "%s-0.%s.%s.svc:27017" $name $name .Release.Namespace }}
{{- end }}

{{- define "wallet.mongodb.bundledUri" -}}
{{- $b := .Values.mongodb.bundled }}
{{- printf "mongodb://%s/%s?replicaSet=%s" (include "wallet.mongodb.bundledHost" .) $b.database $b.replicaSetName }}
{{- end }}

{{- define "wallet.redis.bundledUrl" -}}
{{- printf "redis://%s.%s.svc:6379" (include "wallet.redis.bundledName" .) .Release.Namespace }}
{{- end }}

{{/*
Checks that make the chart refuse to render a broken or single-process setup.
*/}}
{{- define "wallet.validate" -}}
{{- $m := .Values.externalMongodb }}
{{- $mongoSources := 0 }}
{{- if $m.uri }}{{ $mongoSources = add1 $mongoSources }}{{ end }}
{{- if $m.existingSecret }}{{ $mongoSources = add1 $mongoSources }}{{ end }}
{{- if .Values.mongodb.bundled.enabled }}{{ $mongoSources = add1 $mongoSources }}{{ end }}
{{- if eq (int $mongoSources) 0 }}
{{- fail "\n\nwallet: no MongoDB configured. The services need a MongoDB replica set shared by all replicas (the embedded SQLite store serves one process only). Set externalMongodb.existingSecret (a Secret with the URI), externalMongodb.uri, or mongodb.bundled.enabled=true for a dev cluster." }}
{{- end }}
{{- if gt (int $mongoSources) 1 }}
{{- fail "\n\nwallet: set only one of externalMongodb.uri, externalMongodb.existingSecret and mongodb.bundled.enabled." }}
{{- end }}
{{- $r := .Values.externalRedis }}
{{- $redisSources := 0 }}
{{- if $r.url }}{{ $redisSources = add1 $redisSources }}{{ end }}
{{- if $r.existingSecret }}{{ $redisSources = add1 $redisSources }}{{ end }}
{{- if .Values.redis.bundled.enabled }}{{ $redisSources = add1 $redisSources }}{{ end }}
{{- if eq (int $redisSources) 0 }}
{{- fail "\n\nwallet: no Redis configured. The services need a Redis shared by all replicas (the in-memory cache serves one process only). Set externalRedis.existingSecret (a Secret with the URL), externalRedis.url, or redis.bundled.enabled=true for a dev cluster." }}
{{- end }}
{{- if gt (int $redisSources) 1 }}
{{- fail "\n\nwallet: set only one of externalRedis.url, externalRedis.existingSecret and redis.bundled.enabled." }}
{{- end }}
{{- if and $m.uri (not (regexMatch "^mongodb(\\+srv)?://" $m.uri)) }}
{{- fail "\n\nwallet: externalMongodb.uri must start with mongodb:// or mongodb+srv://" }}
{{- end }}
{{- if and $r.url (not (regexMatch "^rediss?://" $r.url)) }}
{{- fail "\n\nwallet: externalRedis.url must start with redis:// or rediss://" }}
{{- end }}
{{- /* The chart sets the store and cache types; overriding them would split state between replicas. */}}
{{- $envMaps := list .Values.config }}
{{- range $name, $svc := .Values.services }}
{{- $envMaps = append $envMaps ($svc.env | default dict) }}
{{- end }}
{{- range $envMaps }}
{{- range $key, $value := . }}
{{- if or (eq $key "WALLET_STORAGE_TYPE") (eq $key "WALLET_CACHE_TYPE") (eq $key "WALLET_STORAGE_MONGODB_URI") (eq $key "WALLET_CACHE_REDIS_URL") (eq $key "WALLET_SERVER_ADMIN_TOKEN") (eq $key "WALLET_CRYPTO_KEY_ENCRYPTION_KEY") }}
{{- fail (printf "\n\nwallet: %s is managed by the chart and cannot be set in config or services.*.env (stores: externalMongodb/externalRedis/bundled; secrets: secrets.*)." $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.secrets.keyEncryptionKey }}
{{- /* Canonical base64url of 32 bytes: the 43rd character carries 4 bits, its low 2 bits are zero. */}}
{{- if not (regexMatch "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]=?$" .) }}
{{- fail "\n\nwallet: secrets.keyEncryptionKey must be base64url of exactly 32 bytes (43 characters)." }}
{{- end }}
{{- end }}
{{- with .Values.secrets.adminToken }}
{{- if lt (len .) 32 }}
{{- fail "\n\nwallet: secrets.adminToken must have at least 32 characters." }}
{{- end }}
{{- end }}
{{- with .Values.services.admin }}
{{- if and .enabled .service (ne (.service.type | default "ClusterIP") "ClusterIP") }}
{{- fail "\n\nwallet: services.admin.service.type must stay ClusterIP: the admin API is never exposed publicly." }}
{{- end }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.wallet.paths }}
{{- if eq .service "admin" }}
{{- fail "\n\nwallet: ingress.wallet.paths must not route to admin: the admin API is never exposed publicly." }}
{{- end }}
{{- if not (hasKey $.Values.services .service) }}
{{- fail (printf "\n\nwallet: ingress.wallet.paths: %s routes to unknown service %q." .path .service) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* An env var value as a string; whole numbers without exponent (values are parsed as float64). */}}
{{- define "wallet.envValue" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) }}
{{- int64 . | toString }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/*
WALLET_SERVER_PUBLIC_URL of one service, from the ingress host that routes to
it; "" when there is none or when it is set explicitly (config, env, extraEnv).
Call with (dict "root" $ "name" "auth" "svc" $svc).
*/}}
{{- define "wallet.publicUrl" -}}
{{- $ing := .root.Values.ingress }}
{{- $explicit := or (hasKey (.root.Values.config | default dict) "WALLET_SERVER_PUBLIC_URL") (hasKey (.svc.env | default dict) "WALLET_SERVER_PUBLIC_URL") }}
{{- range concat (.root.Values.extraEnv | default list) (.svc.extraEnv | default list) }}
{{- if eq .name "WALLET_SERVER_PUBLIC_URL" }}{{ $explicit = true }}{{ end }}
{{- end }}
{{- if and $ing.enabled (not $explicit) }}
{{- if eq .name "verifier" }}
{{- if $ing.verifier.enabled }}
{{- $ing.verifier.publicUrl | default (printf "%s://%s" (ternary "https" "http" $ing.verifier.tls.enabled) $ing.verifier.host) }}
{{- end }}
{{- else }}
{{- $routed := false }}
{{- range $ing.wallet.paths }}
{{- if eq .service $.name }}{{ $routed = true }}{{ end }}
{{- end }}
{{- if $routed }}
{{- $ing.wallet.publicUrl | default (printf "%s://%s" (ternary "https" "http" $ing.wallet.tls.enabled) $ing.wallet.host) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
