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

{{/* The bundled Redis's URL as the services get it: the password is expanded by Kubernetes from REDIS_PASSWORD (set before it). */}}
{{- define "wallet.redis.bundledUrl" -}}
{{- printf "redis://default:$(REDIS_PASSWORD)@%s.%s.svc:6379" (include "wallet.redis.bundledName" .) .Release.Namespace }}
{{- end }}

{{- define "wallet.redis.passwordSecretName" -}}
{{- .Values.redis.bundled.auth.existingSecret | default (printf "%s-redis" (include "wallet.fullname" .)) }}
{{- end }}

{{- define "wallet.redis.passwordSecretKey" -}}
{{- if .Values.redis.bundled.auth.existingSecret }}{{ .Values.redis.bundled.auth.existingSecretKey }}{{ else }}redis-password{{ end }}
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
{{- if and $r.url (not (regexMatch "^rediss?(\\+sentinel|\\+cluster)?://" $r.url)) }}
{{- fail "\n\nwallet: externalRedis.url must start with redis://, rediss://, redis+sentinel:// or redis+cluster:// (rediss+...: TLS)" }}
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
{{- /* Secrets that would be generated: refused when generation is off (helm template GitOps). */}}
{{- if not .Values.secrets.generate }}
{{- if and (not .Values.secrets.existingSecret) (not (and .Values.secrets.adminToken .Values.secrets.keyEncryptionKey)) }}
{{- fail "\n\nwallet: secrets.generate is false: set secrets.existingSecret (a Secret you manage) or both secrets.adminToken and secrets.keyEncryptionKey." }}
{{- end }}
{{- if and .Values.redis.bundled.enabled (not .Values.redis.bundled.auth.existingSecret) (not .Values.redis.bundled.auth.password) }}
{{- fail "\n\nwallet: secrets.generate is false: set redis.bundled.auth.existingSecret or redis.bundled.auth.password." }}
{{- end }}
{{- end }}
{{- with .Values.redis.bundled.auth.password }}
{{- if not (regexMatch "^[A-Za-z0-9._~-]+$" .) }}
{{- fail "\n\nwallet: redis.bundled.auth.password must be URL-safe (letters, digits, . _ ~ -): it is part of the services' Redis URL." }}
{{- end }}
{{- end }}
{{- /* Mounted files: one source each; the key pair together; the setting not also given as an env var. */}}
{{- $files := .Values.files }}
{{- range $name, $spec := (include "wallet.fileTable" . | fromYaml) }}
{{- $f := get $files $name }}
{{- $sources := 0 }}
{{- if $f.existingSecret }}{{ $sources = add1 $sources }}{{ end }}
{{- if $f.existingConfigMap }}{{ $sources = add1 $sources }}{{ end }}
{{- if $f.content }}{{ $sources = add1 $sources }}{{ end }}
{{- if gt (int $sources) 1 }}
{{- fail (printf "\n\nwallet: files.%s: set only one of existingSecret, existingConfigMap and content." $name) }}
{{- end }}
{{- if gt (int $sources) 0 }}
{{- if hasKey ($.Values.config | default dict) $spec.env }}
{{- fail (printf "\n\nwallet: %s is set by files.%s; remove it from config." $spec.env $name) }}
{{- end }}
{{- range $svcName := $spec.services }}
{{- if hasKey ((get $.Values.services $svcName).env | default dict) $spec.env }}
{{- fail (printf "\n\nwallet: %s is set by files.%s; remove it from services.%s.env." $spec.env $name $svcName) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $files.config.existingSecret $files.config.existingConfigMap }}
{{- fail "\n\nwallet: files.config: set only one of existingSecret and existingConfigMap." }}
{{- end }}
{{- if and .Values.configFile (or $files.config.existingSecret $files.config.existingConfigMap) }}
{{- fail "\n\nwallet: set either configFile (inline) or files.config (your ConfigMap or Secret), not both." }}
{{- end }}
{{- $cert := or $files.verifierCertificate.existingSecret $files.verifierCertificate.existingConfigMap $files.verifierCertificate.content }}
{{- if and $cert (not $files.verifierPrivateKey.existingSecret) }}
{{- fail "\n\nwallet: files.verifierCertificate needs files.verifierPrivateKey (a Secret with the leaf certificate's private key)." }}
{{- end }}
{{- if and $files.verifierPrivateKey.existingSecret (not $cert) }}
{{- fail "\n\nwallet: files.verifierPrivateKey needs files.verifierCertificate." }}
{{- end }}
{{- /* Passkeys: one place to set them. */}}
{{- range $key, $value := dict "WALLET_AUTH_RP_ID" .Values.passkeys.rpId "WALLET_AUTH_ORIGINS" .Values.passkeys.origins }}
{{- if and $value (include "wallet.explicitEnv" (dict "root" $ "name" "auth" "env" $key)) }}
{{- fail (printf "\n\nwallet: %s is set both by passkeys.* and in config / services.auth.env / extraEnv; keep one." $key) }}
{{- end }}
{{- end }}
{{- range .Values.trustedProxies | default list }}
{{- if not (regexMatch "^([0-9]{1,3}(\\.[0-9]{1,3}){3}(/[0-9]{1,2})?|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(/[0-9]{1,3})?)$" .) }}
{{- fail (printf "\n\nwallet: trustedProxies: %q is not an IPv4/IPv6 address or CIDR range." .) }}
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

{{/*
Files the services read (files.*): where each is mounted, the setting naming it
and the services that read it. The config file goes to every service.
*/}}
{{- define "wallet.fileTable" -}}
verifierCertificate: {dir: verifier-certificate, file: certificate.pem, env: WALLET_VERIFIER_X509_CERTIFICATE_FILE, services: [verifier]}
verifierPrivateKey: {dir: verifier-private-key, file: private-key.pem, env: WALLET_VERIFIER_X509_PRIVATE_KEY_FILE, services: [verifier]}
verifierTrustedRoots: {dir: verifier-trusted-roots, file: roots.pem, env: WALLET_VERIFIER_TRUSTED_ROOTS_FILE, services: [verifier]}
verifierServices: {dir: verifier-services, file: services.yaml, env: WALLET_VERIFIER_SERVICES_FILE, services: [verifier]}
engineTrustedRoots: {dir: engine-trusted-roots, file: roots.pem, env: WALLET_ENGINE_TRUSTED_ROOTS_FILE, services: [engine]}
config: {dir: config, file: config.yaml, env: WALLET_CONFIG, services: [auth, storage, engine, registry, admin, verifier]}
{{- end }}

{{/* The chart's ConfigMap for inline file content. */}}
{{- define "wallet.filesConfigMapName" -}}
{{- printf "%s-files" (include "wallet.fullname" .) }}
{{- end }}

{{/*
Inline file contents (files.*.content and configFile) as a dict: entry name -> text.
*/}}
{{- define "wallet.inlineFiles" -}}
{{- $out := dict }}
{{- range $name, $spec := (include "wallet.fileTable" . | fromYaml) }}
{{- $f := get $.Values.files $name }}
{{- with $f.content }}
{{- $_ := set $out $name (ternary . (toYaml .) (kindIs "string" .)) }}
{{- end }}
{{- end }}
{{- with .Values.configFile }}
{{- $_ := set $out "config" (toYaml .) }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
The files one service mounts, as a list of {name, dir, file, env, volume}, where
volume is the Kubernetes volume source. Call with (dict "root" $ "name" "verifier").
*/}}
{{- define "wallet.serviceFiles" -}}
{{- $root := .root }}
{{- $inline := include "wallet.inlineFiles" $root | fromYaml }}
{{- $out := list }}
{{- range $name, $spec := (include "wallet.fileTable" $root | fromYaml) }}
{{- if has $.name $spec.services }}
{{- $f := get $root.Values.files $name }}
{{- $items := list (dict "key" ($f.key | default $spec.file) "path" $spec.file) }}
{{- $volume := dict }}
{{- if $f.existingSecret }}
{{- $volume = dict "secret" (dict "secretName" $f.existingSecret "items" $items "defaultMode" 288) }}
{{- else if $f.existingConfigMap }}
{{- $volume = dict "configMap" (dict "name" $f.existingConfigMap "items" $items) }}
{{- else if hasKey $inline $name }}
{{- $volume = dict "configMap" (dict "name" (include "wallet.filesConfigMapName" $root) "items" (list (dict "key" $name "path" $spec.file))) }}
{{- end }}
{{- if $volume }}
{{- $out = append $out (dict "name" (printf "file-%s" $spec.dir) "path" (printf "/etc/wallet/%s" $spec.dir) "file" $spec.file "env" $spec.env "volume" $volume) }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml (dict "files" $out) }}
{{- end }}

{{/*
"true" when the setting env is given explicitly to service name: in config,
services.<name>.env, or extraEnv (global or the service's).
Call with (dict "root" $ "name" "auth" "env" "WALLET_AUTH_RP_ID").
*/}}
{{- define "wallet.explicitEnv" -}}
{{- $svc := get .root.Values.services .name }}
{{- $found := or (hasKey (.root.Values.config | default dict) .env) (hasKey ($svc.env | default dict) .env) }}
{{- range concat (.root.Values.extraEnv | default list) ($svc.extraEnv | default list) }}
{{- if eq .name $.env }}{{ $found = true }}{{ end }}
{{- end }}
{{- if $found }}true{{ end }}
{{- end }}

{{/*
The public URL the auth service is reached at: WALLET_SERVER_PUBLIC_URL when
given as a plain value (config, services.auth.env), else the wallet host's as
the Ingress makes it; "" without either.
*/}}
{{- define "wallet.authPublicUrl" -}}
{{- $explicit := get (.Values.services.auth.env | default dict) "WALLET_SERVER_PUBLIC_URL" | default (get (.Values.config | default dict) "WALLET_SERVER_PUBLIC_URL") }}
{{- if $explicit }}
{{- $explicit }}
{{- else if .Values.ingress.enabled }}
{{- .Values.ingress.wallet.publicUrl | default (printf "%s://%s" (ternary "https" "http" .Values.ingress.wallet.tls.enabled) .Values.ingress.wallet.host) }}
{{- end }}
{{- end }}

{{/*
Passkey settings of the auth service as a dict env -> value: passkeys.* when
set, else derived from the auth public URL (ingress) unless given explicitly
(config, services.auth.env, extraEnv, configFile auth.*).
*/}}
{{- define "wallet.passkeyEnv" -}}
{{- $out := dict }}
{{- $url := include "wallet.authPublicUrl" . }}
{{- $fileAuth := (.Values.configFile | default dict).auth | default dict }}
{{- if .Values.passkeys.rpId }}
{{- $_ := set $out "WALLET_AUTH_RP_ID" .Values.passkeys.rpId }}
{{- else if and $url .Values.ingress.enabled (not (include "wallet.explicitEnv" (dict "root" . "name" "auth" "env" "WALLET_AUTH_RP_ID"))) (not (hasKey $fileAuth "rpId")) }}
{{- $_ := set $out "WALLET_AUTH_RP_ID" (urlParse $url).hostname }}
{{- end }}
{{- if .Values.passkeys.origins }}
{{- $_ := set $out "WALLET_AUTH_ORIGINS" (join "," .Values.passkeys.origins) }}
{{- else if and $url .Values.ingress.enabled (not (include "wallet.explicitEnv" (dict "root" . "name" "auth" "env" "WALLET_AUTH_ORIGINS"))) (not (hasKey $fileAuth "origins")) }}
{{- $u := urlParse $url }}
{{- $_ := set $out "WALLET_AUTH_ORIGINS" (printf "%s://%s" $u.scheme $u.host) }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* trustedProxies as a list: the value, or the private ranges behind the ingress. */}}
{{- define "wallet.trustedProxies" -}}
{{- $list := .Values.trustedProxies }}
{{- if kindIs "invalid" $list }}
{{- $list = ternary (list "10.0.0.0/8" "172.16.0.0/12" "192.168.0.0/16" "100.64.0.0/10" "fc00::/7") (list) .Values.ingress.enabled }}
{{- end }}
{{- join "," $list }}
{{- end }}

{{/* Names of the enabled services, as a regex alternation for PromQL. */}}
{{- define "wallet.enabledServicesRegex" -}}
{{- $names := list }}
{{- range $name, $svc := .Values.services }}
{{- if $svc.enabled }}{{ $names = append $names (include "wallet.componentName" (dict "root" $ "name" $name)) }}{{ end }}
{{- end }}
{{- join "|" $names }}
{{- end }}

{{/* Pods of this release (services, bundled stores, test pods). */}}
{{- define "wallet.releasePodSelector" -}}
app.kubernetes.io/name: {{ include "wallet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
